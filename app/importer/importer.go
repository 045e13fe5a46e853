// Package importer reads a folder of Markdown files with YAML or TOML front
// matter, in the style of Hugo and Jekyll, into the site's content: posts,
// projects and pages, their tags, and the images beside them. Running it
// again over the same folder updates entries rather than duplicating them.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"site/app/content"
)

// Objects stores image files; *minio.Client satisfies it through MinioObjects.
type Objects interface {
	// Put stores body, size bytes read from its start, under key in
	// bucket unless an equal object is already there; it reports whether
	// it wrote.
	Put(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64) (bool, error)
}

// Importer turns a folder of Markdown files into content.
type Importer struct {
	// Content receives the entries and images.
	Content *content.Store
	// Objects receives image files; nil imports entries without images.
	Objects Objects
	// PrivateBucket receives the untouched originals, the only copy the
	// importer writes: an original keeps its metadata (EXIF GPS included).
	PrivateBucket string
	// Now decides whether a dated entry is scheduled; time.Now by default.
	Now func() time.Time
	// Out receives one line per file, for the person running the import.
	Out io.Writer
	// Logger receives warnings.
	Logger *slog.Logger
}

// Report counts what an import did.
type Report struct {
	Created, Updated, Unchanged, Failed int
	// Refused counts the paths not read: symbolic links and paths through
	// them, special files, and images referenced from outside the folder.
	Refused                   int
	ImagesWritten, ImagesSame int
}

// String is the one-line summary printed at the end of an import.
func (r Report) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d failed, %d refused; images: %d written, %d already there",
		r.Created, r.Updated, r.Unchanged, r.Failed, r.Refused, r.ImagesWritten, r.ImagesSame)
}

// imageExts are the files taken as images beside an entry.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".avif": true, ".svg": true}

// Import reads every Markdown file under dir. A file that fails is
// reported and skipped; the error lists the failures. Reads go through an
// *os.Root on dir: symbolic links, special files and images referenced from
// outside dir are refused, each listed on Out as "refused PATH: REASON" and
// counted in Report.Refused, without failing the import.
func (im *Importer) Import(ctx context.Context, dir string) (rep Report, err error) {
	if im.Now == nil {
		im.Now = time.Now
	}
	if im.Out == nil {
		im.Out = io.Discard
	}
	if im.Logger == nil {
		im.Logger = slog.Default()
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return rep, err
	}
	if st, err := os.Stat(root); err != nil {
		return rep, fmt.Errorf("import: %w", err)
	} else if !st.IsDir() {
		return rep, fmt.Errorf("import: %s is not a folder", dir)
	}
	fold, err := openFolder(root, im.Out)
	if err != nil {
		return rep, fmt.Errorf("import: %w", err)
	}
	defer fold.Close()
	defer func() { rep.Refused = len(fold.refused) }()
	files, err := fold.markdown()
	if err != nil {
		return rep, fmt.Errorf("import: %w", err)
	}
	if len(files) == 0 {
		return rep, fmt.Errorf("import: no Markdown files (.md) under %s", dir)
	}
	var errs []error
	for i, rel := range files {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		res, p, err := im.importFile(ctx, fold, rel, &rep)
		if r, ok := asRefusal(err); ok { // became a link or a special file since the walk
			fold.refuse(r, "")
			continue
		}
		if err != nil {
			rep.Failed++
			errs = append(errs, fmt.Errorf("%s: %w", rel, err))
			fmt.Fprintf(im.Out, "[%d/%d] %s: FAILED: %v\n", i+1, len(files), rel, err)
			continue
		}
		switch res {
		case content.Created:
			rep.Created++
		case content.Updated:
			rep.Updated++
		default:
			rep.Unchanged++
		}
		fmt.Fprintf(im.Out, "[%d/%d] %s: %s %s %s (%s)\n", i+1, len(files), rel, res, p.Kind, p.Path(), p.Status)
	}
	return rep, errors.Join(errs...)
}

// jekyllName is a Jekyll post file name: 2024-05-01-the-slug.md.
var jekyllName = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})-(.+)$`)

// importFile saves the entry of the Markdown file at rel (slash-separated)
// with its images; a *refusal when the file may not be read.
func (im *Importer) importFile(ctx context.Context, fold *folder, rel string, rep *Report) (content.SaveResult, *content.Post, error) {
	src, err := fold.readFile(rel)
	if err != nil {
		return "", nil, err
	}
	m, body, err := splitFrontMatter(src)
	if err != nil {
		return "", nil, err
	}
	fm, err := decodeFrontMatter(m)
	if err != nil {
		return "", nil, err
	}
	dirs := strings.Split(path.Dir(rel), "/")
	if dirs[0] == "content" { // Hugo keeps entries under content/
		dirs = dirs[1:]
		if len(dirs) == 0 {
			dirs = []string{"."}
		}
	}
	base := strings.TrimSuffix(path.Base(rel), path.Ext(rel))
	if (base == "index" || base == "README") && len(dirs) > 0 && dirs[len(dirs)-1] != "." {
		base = dirs[len(dirs)-1] // a Hugo page bundle: posts/slug/index.md
	}
	if mm := jekyllName.FindStringSubmatch(base); mm != nil {
		if fm.Date.IsZero() {
			fm.Date, _ = time.Parse("2006-01-02", mm[1])
		}
		base = mm[2]
	}
	p := &content.Post{Kind: kindOf(fm.Type, dirs, base), Title: fm.Title, Summary: fm.Summary, Featured: fm.Featured, Source: rel}
	p.Slug = fm.Slug
	if p.Slug == "" || !content.ValidSlug(p.Slug) {
		p.Slug = content.Slugify(firstNonEmpty(p.Slug, base))
	}
	if p.Slug == "" {
		p.Slug = content.Slugify(p.Title)
	}
	if p.Title == "" {
		p.Title = titleFromBody(body, base)
	}
	p.PublishedAt = fm.Date
	if !fm.PublishDate.IsZero() {
		p.PublishedAt = fm.PublishDate
	}
	p.UpdatedAt = fm.Updated
	switch {
	case fm.Draft || slicesContains(dirs, "_drafts"):
		p.Status = content.StatusDraft
	case p.PublishedAt.After(im.Now()):
		p.Status = content.StatusScheduled
	default:
		p.Status = content.StatusPublished
	}
	if p.PublishedAt.IsZero() {
		// No date: keep the one of an earlier import, so re-imports change
		// nothing; a new entry is published now.
		if old, err := im.Content.GetAny(ctx, p.Kind, p.Slug); err == nil {
			p.PublishedAt = old.PublishedAt
		}
	}
	for _, t := range fm.Tags {
		p.Tags = append(p.Tags, content.Tag{Name: t, Slug: content.Slugify(t)})
	}
	prefix := string(p.Kind) + "s/" + p.Slug + "/"
	md, err := im.rewriteImages(ctx, fold, rel, prefix, string(body), rep)
	if err != nil {
		return "", nil, err
	}
	p.Body = strings.TrimSpace(strings.Replace(md, "<!--more-->", "", 1)) + "\n"
	if p.Summary == "" {
		p.Summary = im.summaryOf(string(body))
	}
	if fm.Cover != "" {
		key, err := im.importImage(ctx, fold, rel, prefix, fm.Cover, "", rep)
		if err != nil {
			return "", nil, fmt.Errorf("cover %s: %w", fm.Cover, err)
		}
		p.CoverImage = key
	}
	if p.Status != content.StatusDraft && p.PublishedAt.IsZero() {
		p.PublishedAt = im.Now().UTC().Truncate(time.Second)
	}
	res, err := im.Content.Save(ctx, p)
	return res, p, err
}

// kindOf decides post, project or page from the front matter's type and
// the folders the file is in.
func kindOf(typ string, dirs []string, base string) content.Kind {
	switch strings.TrimSuffix(typ, "s") {
	case "project":
		return content.KindProject
	case "page":
		return content.KindPage
	case "post":
		return content.KindPost
	}
	for _, d := range dirs {
		switch strings.ToLower(d) {
		case "projects", "project", "_projects":
			return content.KindProject
		case "pages", "_pages":
			return content.KindPage
		}
	}
	if len(dirs) == 1 && dirs[0] == "." && strings.EqualFold(base, "about") {
		return content.KindPage
	}
	return content.KindPost
}

// summaryOf takes a summary from the body: what comes before <!--more-->,
// else the first paragraph, cut at about 240 characters on a word.
func (im *Importer) summaryOf(body string) string {
	if before, _, ok := strings.Cut(body, "<!--more-->"); ok {
		body = before
	}
	text, err := im.Content.Markdown.PlainText(body)
	if err != nil {
		return ""
	}
	for para := range strings.SplitSeq(text, "\n") {
		para = strings.Join(strings.Fields(para), " ")
		if len(para) < 20 {
			continue
		}
		if len(para) > 240 {
			cut := strings.LastIndex(para[:240], " ")
			if cut < 120 {
				cut = 240
			}
			para = strings.TrimRight(para[:cut], ",;:.") + "…"
		}
		return para
	}
	return ""
}

func titleFromBody(body []byte, base string) string {
	for line := range strings.SplitSeq(string(body), "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), "# "); ok {
			return strings.TrimSpace(t)
		}
	}
	return strings.ReplaceAll(base, "-", " ")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
