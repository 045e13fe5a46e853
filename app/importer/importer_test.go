package importer_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/content"
	"site/app/importer"
	"site/internal/testkit"
)

// MustObjects starts the embedded object server in a temp dir with the
// public and private buckets.
func MustObjects(tb testing.TB) *minio.Client {
	tb.Helper()
	_, c := testkit.Objects(tb)
	return c
}

// copyDir copies the fixture so the test can edit it.
func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func TestImportHugoRoundTrip(t *testing.T) {
	fixture, err := filepath.Abs(filepath.Join("testdata", "hugo"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "site")
	copyDir(t, fixture, dir)
	ctx := context.Background()
	db := testkit.DataDB(t)
	s3 := MustObjects(t)
	cs := content.NewStore(db)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cs.Now = func() time.Time { return now }
	var out bytes.Buffer
	im := &importer.Importer{Content: cs, Objects: importer.MinioObjects{Client: s3},
		PrivateBucket: "private", Now: cs.Now, Out: &out, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	rep, err := im.Import(ctx, dir)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	if rep.Created != 5 || rep.Failed != 0 || rep.ImagesWritten != 3 {
		t.Fatalf("first import: %s\n%s", rep, out.String())
	}

	hello, err := cs.Get(ctx, content.KindPost, "hello-world")
	if err != nil {
		t.Fatal(err)
	}
	if hello.Title != "Hello, world" || hello.Summary != "A first post with a picture and some code." ||
		!hello.PublishedAt.Equal(time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)) ||
		!hello.UpdatedAt.Equal(time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("hello-world = %+v", hello)
	}
	if len(hello.Tags) != 2 || hello.Tags[0].Slug != "go" || hello.Tags[1].Slug != "web-dev" || hello.Tags[1].Name != "Web Dev" {
		t.Errorf("tags = %+v", hello.Tags)
	}
	for _, want := range []string{`![A gradient cat](/media/posts/hello-world/cat.png "The cat")`, `![logo](/media/static/images/logo.png)`} {
		if !strings.Contains(hello.Body, want) {
			t.Errorf("body lacks %s:\n%s", want, hello.Body)
		}
	}
	// Until the worker makes variants, the picture waits (no src): the
	// original is never linked.
	pics, err := cs.Pictures(ctx, []string{"posts/hello-world/cat.png"})
	if err != nil || pics["posts/hello-world/cat.png"] == nil || !pics["posts/hello-world/cat.png"].Pending() {
		t.Errorf("picture of cat.png = %+v, %v", pics, err)
	}
	// Originals go to the private bucket only.
	for _, key := range []string{"posts/hello-world/cat.png", "static/images/logo.png", "projects/tool/cover.png"} {
		if _, err := s3.StatObject(ctx, "public", key, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("public/%s: %v (want no such key)", key, err)
		}
		if _, err := s3.StatObject(ctx, "private", "originals/"+key, minio.StatObjectOptions{}); err != nil {
			t.Errorf("private/originals/%s: %v", key, err)
		}
	}
	second, err := cs.GetAny(ctx, content.KindPost, "second")
	if err != nil || second.Status != content.StatusDraft {
		t.Errorf("second = %+v, %v (want a draft)", second, err)
	}
	future, err := cs.GetAny(ctx, content.KindPost, "from-the-future")
	if err != nil || future.Status != content.StatusScheduled || len(future.Tags) != 2 {
		t.Errorf("from-the-future = %+v, %v (want scheduled, 2 tags)", future, err)
	}
	tool, err := cs.Get(ctx, content.KindProject, "tool")
	if err != nil || !tool.Featured || tool.CoverImage != "projects/tool/cover.png" ||
		!strings.Contains(tool.Body, "![The tool at work](/media/projects/tool/cover.png)") ||
		!strings.HasPrefix(tool.Summary, "A tool that does one thing well.") {
		t.Errorf("tool = %+v, %v", tool, err)
	}
	if _, err := cs.Get(ctx, content.KindPage, "about"); err != nil {
		t.Errorf("about page: %v", err)
	}

	// Again: nothing changes, nothing is written.
	v1, _ := cs.Version(ctx)
	rep, err = im.Import(ctx, dir)
	if err != nil || rep.Unchanged != 5 || rep.Created+rep.Updated != 0 || rep.ImagesWritten != 0 || rep.ImagesSame != 4 {
		t.Fatalf("second import: %s, %v", rep, err)
	}
	if v2, _ := cs.Version(ctx); v2 != v1 {
		t.Errorf("content version moved on a no-op re-import: %d → %d", v1, v2)
	}

	// An edited file updates its entry in place.
	p := filepath.Join(dir, "content", "posts", "second.md")
	src, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.Replace(src, []byte("draft = true"), []byte("draft = false"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = im.Import(ctx, dir)
	if err != nil || rep.Updated != 1 || rep.Unchanged != 4 {
		t.Fatalf("import after an edit: %s, %v", rep, err)
	}
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM posts`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("posts after three imports = %d, %v", n, err)
	}
	if _, err := cs.Get(ctx, content.KindPost, "second"); err != nil {
		t.Errorf("second not published after the edit: %v", err)
	}
}

func TestImportReportsBadFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ok.md"), []byte("---\ntitle: Fine\ndate: 2024-01-01\n---\nBody.\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.md"), []byte("---\ntitle: [unclosed\n---\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "baddate.md"), []byte("+++\ntitle = \"X\"\ndate = \"yesterday\"\n+++\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "open.md"), []byte("---\ntitle: never closed\n"), 0o644)
	db := testkit.DataDB(t)
	im := &importer.Importer{Content: content.NewStore(db)}
	rep, err := im.Import(context.Background(), dir)
	if rep.Created != 1 || rep.Failed != 3 || err == nil {
		t.Fatalf("report %s, err %v", rep, err)
	}
	for _, want := range []string{"broken.md: YAML front matter", `baddate.md: date: "yesterday" is not a date`, "open.md: front matter opened with --- is never closed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := im.Import(context.Background(), filepath.Join(dir, "nothing")); err == nil {
		t.Error("import of a missing folder succeeded")
	}
}
