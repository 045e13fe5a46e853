package admin

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"site/app/content"
	"site/app/export"
	"site/app/web"
)

// SectionExport is the export page's section of the panel.
const SectionExport = "export"

// exportZipPath is where the zip of the whole site is downloaded.
const exportZipPath = "/admin/export/site.zip"

func (a *Admin) exportRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET /admin/export", Handler: http.HandlerFunc(a.exportPage)},
		{Pattern: "GET " + exportZipPath, Handler: http.HandlerFunc(a.exportZip)},
	}
}

// exportCounts is what the export page says a download holds.
type exportCounts struct {
	Entries, Drafts, Images int
	Name                    string
}

var exportTmpl = template.Must(template.New("export").Parse(`<h1>Export</h1>
<p>The whole site as a folder that <code>site import</code> reads back: every post, project and page
(drafts and scheduled ones too) as a Markdown file with its front matter, and the original of every
image beside the entry that shows it.</p>
<p>{{.Entries}} entries ({{.Drafts}} drafts), {{.Images}} images.</p>
<form method="get" action="` + exportZipPath + `">
<button type="submit">Download {{.Name}}.zip</button>
</form>
<p>The same from a terminal on the server: <code>site export DIR</code>.</p>
`))

func (a *Admin) exportPage(w http.ResponseWriter, r *http.Request) {
	c := exportCounts{Name: a.exportName()}
	err := a.Data.Read.QueryRowContext(r.Context(), `SELECT count(*), count(*) FILTER (WHERE status = 'draft'),
		(SELECT count(*) FROM images) FROM posts`).Scan(&c.Entries, &c.Drafts, &c.Images)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	body := templ.ComponentFunc(func(_ context.Context, w io.Writer) error { return exportTmpl.Execute(w, c) })
	a.page(w, r, http.StatusOK, "Export", SectionExport, body)
}

// exportName is the download's name and its top folder: the site's name
// as a slug and the day, e.g. my-site-2025-01-31.
func (a *Admin) exportName() string {
	name := content.Slugify(a.Shell.SiteName)
	if name == "" {
		name = "site"
	}
	return name + "-" + a.now().UTC().Format(time.DateOnly)
}

// exportZip streams the whole site as a zip: each file is read from the
// object store and written to the response as it goes, never the whole
// in memory. A failure before anything is sent is an error page; after,
// the connection is cut, so the browser reports a failed download rather
// than keeping half a zip.
func (a *Admin) exportZip(w http.ResponseWriter, r *http.Request) {
	name := a.exportName()
	if err := a.Audit(r, "site.export", name+".zip", "zip download"); err != nil {
		a.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name + ".zip"}))
	h.Set("Cache-Control", "private, no-store")
	sw := &sentWriter{w: w}
	z, err := export.NewZip(sw, name)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	ex := &export.Exporter{Content: a.Content, PrivateBucket: a.PrivateBucket, Logger: a.Logger}
	if a.Objects != nil {
		ex.Objects = export.MinioObjects{Client: a.Objects}
	}
	rep, err := ex.Export(r.Context(), z)
	if err == nil {
		err = z.Close()
	}
	if err != nil {
		if !sw.sent {
			for _, k := range []string{"Content-Type", "Content-Disposition"} {
				h.Del(k)
			}
			a.serverError(w, r, err)
			return
		}
		a.Logger.Error("admin: export", "err", err)
		panic(http.ErrAbortHandler)
	}
	a.Logger.Info("admin: exported the site", "file", name+".zip", "report", rep.String())
}

// sentWriter notes whether anything reached the response.
type sentWriter struct {
	w    io.Writer
	sent bool
}

func (s *sentWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		s.sent = true
	}
	n, err := s.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("send: %w", err)
	}
	return n, nil
}
