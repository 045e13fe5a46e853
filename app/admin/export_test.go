package admin_test

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/content"
	"site/internal/testkit"
)

// mustObjectServer starts the embedded object server with a private
// bucket.
func mustObjectServer(tb testing.TB) *minio.Client {
	tb.Helper()
	_, c := testkit.Objects(tb)
	return c
}

// TestExportDownload: the export page offers the zip; the zip streams
// every entry, drafts included, with the originals beside them, under a
// name made of the site's name and the day; the download is audited.
func TestExportDownload(t *testing.T) {
	s3 := mustObjectServer(t)
	p := newPanel(t)
	p.admin.Objects, p.admin.PrivateBucket = s3, "private"
	p.admin.Shell.SiteName = "My Site"
	p.admin.Now = func() time.Time { return time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC) }
	ctx := t.Context()
	pic := []byte("\x89PNG an original with its EXIF")
	if _, err := s3.PutObject(ctx, "private", "originals/posts/hello/pic.png", bytes.NewReader(pic), int64(len(pic)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.admin.Content.SaveImage(ctx, content.Image{Key: "posts/hello/pic.png", OriginalKey: "originals/posts/hello/pic.png"}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*content.Post{
		{Kind: content.KindPost, Slug: "hello", Title: "Hello", Status: content.StatusPublished, PublishedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
			Body: "![pic](/media/posts/hello/pic.png)\n"},
		{Kind: content.KindPost, Slug: "wip", Title: "Work in progress", Status: content.StatusDraft, Body: "Soon.\n"},
	} {
		if _, err := p.admin.Content.Save(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.auth.GrantAdmin(ctx, "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	owner := p.client(t, "owner@example.org")

	resp, err := owner.Get(p.URL + "/admin/export")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `action="/admin/export/site.zip"`) ||
		!strings.Contains(string(page), "2 entries (1 drafts), 1 images") || !strings.Contains(string(page), "my-site-2025-03-04.zip") {
		t.Fatalf("export page: %d\n%s", resp.StatusCode, page)
	}

	resp, err = owner.Get(p.URL + "/admin/export/site.zip")
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=my-site-2025-03-04.zip` ||
		resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("download: %v %d %v", err, resp.StatusCode, resp.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	if len(files) != 3 || files["my-site-2025-03-04/posts/hello/pic.png"] != string(pic) ||
		!strings.Contains(files["my-site-2025-03-04/posts/hello/index.md"], "![pic](pic.png)") ||
		!strings.Contains(files["my-site-2025-03-04/posts/wip/index.md"], "draft: true") {
		t.Errorf("zip files: %v", files)
	}
	var n int
	if err := p.admin.Data.Read.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'site.export' AND target = 'my-site-2025-03-04.zip'
		AND address = 'owner@example.org'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit rows for the export = %d, %v", n, err)
	}
}
