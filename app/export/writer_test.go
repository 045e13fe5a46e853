package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"site/app/content"
	"site/app/export"
)

func TestCleanPath(t *testing.T) {
	for _, ok := range []string{"posts/a/index.md", "static/uploads/2025/x.png", "a...b/c"} {
		if _, err := export.CleanPath(ok); err != nil {
			t.Errorf("CleanPath(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", `a\..\b`, "C:/x", "a/b/", "a\x00b", "a\nb"} {
		if _, err := export.CleanPath(bad); err == nil {
			t.Errorf("CleanPath(%q) accepted", bad)
		}
	}
}

func TestWritersRefuseEscapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	d, err := export.OpenDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var buf bytes.Buffer
	z, err := export.NewZip(&buf, "site")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []export.Writer{d, z} {
		for _, bad := range []string{"../escape.md", "/abs.md", "a/../../b.md"} {
			if f, err := w.Create(bad, time.Time{}); err == nil {
				f.Close()
				t.Errorf("%T.Create(%q) accepted", w, bad)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape.md")); err == nil {
		t.Error("a file was written outside the export folder")
	}
	if _, err := export.NewZip(&buf, "../up"); err == nil {
		t.Error("zip folder ../up accepted")
	}
}

// TestExportSkipsHostileKeys puts image rows whose keys are not object
// keys (written past the store's checks) behind an entry: the export
// writes the entry, leaves those links as they were, and writes nothing
// outside its paths.
func TestExportSkipsHostileKeys(t *testing.T) {
	s3 := MustObjects(t)
	a := newSite(t, s3, "private")
	for _, key := range []string{"../../evil.png", "/abs/evil.png"} {
		if _, err := a.db.Write.Exec(`INSERT INTO images (key, original_key, width, height, alt, placeholder, created_at)
			VALUES (?, ?, 0, 0, '', '', 0)`, key, key); err != nil {
			t.Fatal(err)
		}
	}
	a.save(t, &content.Post{Kind: content.KindPost, Slug: "p", Title: "P", Status: content.StatusPublished,
		PublishedAt: now.Add(-time.Hour), Body: "![e](/media/../../evil.png) ![f](/media//abs/evil.png)\n", CoverImage: "../../evil.png"})
	var buf bytes.Buffer
	z, err := export.NewZip(&buf, "site")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := export.Export(context.Background(), a.content, export.MinioObjects{Client: s3}, "private", z)
	if err != nil {
		t.Fatal(err)
	}
	z.Close()
	if rep.Entries != 1 || rep.Images != 0 {
		t.Errorf("report %s", rep)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != "site/posts/p/index.md" || !fs.ValidPath(f.Name) {
			t.Errorf("zip holds %q", f.Name)
		}
		rc, _ := f.Open()
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		if !strings.Contains(b.String(), "![e](/media/../../evil.png)") || strings.Contains(b.String(), "cover:") {
			t.Errorf("index.md:\n%s", b.String())
		}
	}
}

// TestExportWithoutObjects: with no object store the entries are
// exported alone, their images left as /media/ links and counted missing.
func TestExportWithoutObjects(t *testing.T) {
	s3 := MustObjects(t)
	a := newSite(t, s3, "private")
	a.putImage(t, "posts/p/pic.png", []byte("\x89PNG pic"))
	a.save(t, &content.Post{Kind: content.KindPost, Slug: "p", Title: "P", Status: content.StatusPublished,
		PublishedAt: now.Add(-time.Hour), Body: "![pic](/media/posts/p/pic.png)\n"})
	d, err := export.OpenDir(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ex := &export.Exporter{Content: a.content, Logger: quiet}
	rep, err := ex.Export(context.Background(), d)
	if err != nil || rep.Entries != 1 || rep.Images != 0 || rep.Missing != 1 {
		t.Errorf("report %s, %v", rep, err)
	}
}
