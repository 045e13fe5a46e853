package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/content"
	"site/app/export"
	"site/app/importer"
	"site/app/store"
	"site/embedded/objects"
	"site/internal/testkit"
)

// now is the clock of every store and import in these tests: the fixture's
// 2099 post is scheduled, its dated posts published.
var now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// hugoFixture is the importer's fixture, made absolute before any object
// server starts: starting one changes the working directory.
var hugoFixture, _ = filepath.Abs(filepath.Join("..", "importer", "testdata", "hugo"))

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// MustObjects starts the embedded object server in a temp dir with the
// public bucket and two private ones, private (site A) and private-b
// (site B): one server runs per process.
func MustObjects(tb testing.TB) *minio.Client {
	tb.Helper()
	_, c := testkit.Objects(tb, func(s *objects.Server) { s.Buckets = []string{"public", "private", "private-b"} })
	return c
}

// site is a data.db and an object store with the content on them.
type site struct {
	db      *store.DB
	content *content.Store
	s3      *minio.Client
	bucket  string // of originals
}

func newSite(tb testing.TB, s3 *minio.Client, bucket string) *site {
	tb.Helper()
	db := testkit.DataDB(tb)
	cs := content.NewStore(db)
	cs.Now = func() time.Time { return now }
	return &site{db: db, content: cs, s3: s3, bucket: bucket}
}

// importDir imports dir into s and fails on any failed or refused file.
func (s *site) importDir(tb testing.TB, dir string) importer.Report {
	tb.Helper()
	var out bytes.Buffer
	im := &importer.Importer{Content: s.content, Objects: importer.MinioObjects{Client: s.s3},
		PrivateBucket: s.bucket, Now: s.content.Now, Out: &out, Logger: quiet}
	rep, err := im.Import(context.Background(), dir)
	if err != nil || rep.Failed != 0 || rep.Refused != 0 {
		tb.Fatalf("import %s: %s, %v\n%s", dir, rep, err, out.String())
	}
	return rep
}

// putImage stores an original in s's private bucket and its images row,
// as an upload would.
func (s *site) putImage(tb testing.TB, key string, data []byte) {
	tb.Helper()
	ctx := context.Background()
	if _, err := s.s3.PutObject(ctx, s.bucket, "originals/"+key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		tb.Fatal(err)
	}
	if err := s.content.SaveImage(ctx, content.Image{Key: key, OriginalKey: "originals/" + key}); err != nil {
		tb.Fatal(err)
	}
}

func (s *site) save(tb testing.TB, p *content.Post) {
	tb.Helper()
	if _, err := s.content.Save(context.Background(), p); err != nil {
		tb.Fatal(err)
	}
}

// original reads the original of image key in s's private bucket.
func (s *site) original(tb testing.TB, key string) []byte {
	tb.Helper()
	var orig string
	if err := s.db.Read.QueryRow(`SELECT original_key FROM images WHERE key = ?`, key).Scan(&orig); err != nil {
		tb.Fatalf("image %s: %v", key, err)
	}
	obj, err := s.s3.GetObject(context.Background(), s.bucket, orig, minio.GetObjectOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		tb.Fatalf("read %s: %v", orig, err)
	}
	return b
}

// entries returns every entry of s, whatever its status, by kind and slug.
func (s *site) entries(tb testing.TB) []*content.Post {
	tb.Helper()
	rows, err := s.db.Read.Query(`SELECT kind, slug FROM posts ORDER BY kind, slug`)
	if err != nil {
		tb.Fatal(err)
	}
	var refs [][2]string
	for rows.Next() {
		var k, sl string
		if err := rows.Scan(&k, &sl); err != nil {
			tb.Fatal(err)
		}
		refs = append(refs, [2]string{k, sl})
	}
	rows.Close()
	var out []*content.Post
	for _, r := range refs {
		p, err := s.content.GetAny(context.Background(), content.Kind(r[0]), r[1])
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// fixture is site A: the importer's Hugo fixture (a post with tags and
// images in its body, one site-wide; a draft; a scheduled post; a
// featured project with a cover image; a page), plus what only the admin
// makes: a post whose slug is "public" (a folder name the importer skips)
// with its own image, a draft with no date, a page showing an upload
// keyed outside any entry, and an upload no entry shows.
func fixture(tb testing.TB, s3 *minio.Client) *site {
	tb.Helper()
	a := newSite(tb, s3, "private")
	a.importDir(tb, hugoFixture)
	a.putImage(tb, "posts/public/pic.png", []byte("\x89PNG public pic"))
	a.putImage(tb, "uploads/2025/shot.jpg", []byte("\xff\xd8\xff shot"))
	a.putImage(tb, "uploads/2025/unused.webp", []byte("RIFF unused"))
	a.save(tb, &content.Post{Kind: content.KindPost, Slug: "public", Title: "In public: a title with: colons",
		Summary: "Line one\nline two", Body: "See ![pic](/media/posts/public/pic.png) here.\n",
		Status: content.StatusPublished, PublishedAt: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC),
		Tags: []content.Tag{{Name: "C++", Slug: content.Slugify("C++")}, {Name: "true", Slug: "true"}}})
	a.save(tb, &content.Post{Kind: content.KindPost, Slug: "undated", Title: "Undated draft",
		Summary: "Waiting.", Body: "Nothing yet.\n", Status: content.StatusDraft})
	a.save(tb, &content.Post{Kind: content.KindPage, Slug: "gallery", Title: "Gallery", Summary: "Pictures.",
		Body:       "![A shot](/media/uploads/2025/shot.jpg \"Shot\")\n\n![gone](/media/missing/none.png)\n",
		CoverImage: "uploads/2025/shot.jpg", Status: content.StatusPublished, PublishedAt: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)})
	return a
}

// keyInB is the key an image of A has once exported and imported again:
// the same, except a key outside any entry's folder and static/, which
// the importer keys under static/.
func keyInB(key string) string {
	if key == "" || strings.HasPrefix(key, "posts/") || strings.HasPrefix(key, "projects/") ||
		strings.HasPrefix(key, "pages/") || strings.HasPrefix(key, "static/") || strings.HasPrefix(key, "missing/") {
		return key
	}
	return "static/" + key
}

// compare checks every entry of a against b field by field, and the
// bytes of every image an entry shows.
func compare(t *testing.T, a, b *site) {
	t.Helper()
	ea, eb := a.entries(t), b.entries(t)
	if len(ea) != len(eb) || len(ea) != 8 {
		t.Fatalf("entries: %d in A, %d in B (want 8)", len(ea), len(eb))
	}
	for i, pa := range ea {
		pb := eb[i]
		want := *pa
		want.Body = strings.ReplaceAll(pa.Body, "/media/uploads/", "/media/static/uploads/")
		want.CoverImage = keyInB(pa.CoverImage)
		for _, f := range []struct {
			name      string
			got, want any
		}{
			{"kind", pb.Kind, want.Kind}, {"slug", pb.Slug, want.Slug}, {"title", pb.Title, want.Title},
			{"summary", pb.Summary, want.Summary}, {"body", pb.Body, want.Body}, {"cover", pb.CoverImage, want.CoverImage},
			{"status", pb.Status, want.Status}, {"featured", pb.Featured, want.Featured},
			{"published_at", pb.PublishedAt, want.PublishedAt}, {"updated_at", pb.UpdatedAt, want.UpdatedAt},
		} {
			if f.got != f.want {
				t.Errorf("%s %s: %s = %q, want %q", pa.Kind, pa.Slug, f.name, f.got, f.want)
			}
		}
		if !slices.Equal(pb.Tags, want.Tags) {
			t.Errorf("%s %s: tags = %+v, want %+v", pa.Kind, pa.Slug, pb.Tags, want.Tags)
		}
		keys := []string{}
		if pa.CoverImage != "" {
			keys = append(keys, pa.CoverImage)
		}
		for _, m := range strings.Split(pa.Body, content.MediaPrefix)[1:] {
			keys = append(keys, strings.FieldsFunc(m, func(r rune) bool { return r == ')' || r == ' ' })[0])
		}
		for _, k := range keys {
			if k == "missing/none.png" {
				continue
			}
			if got, want := b.original(t, keyInB(k)), a.original(t, k); !bytes.Equal(got, want) {
				t.Errorf("%s %s: image %s: %d bytes in B, %d in A", pa.Kind, pa.Slug, k, len(got), len(want))
			}
		}
	}
}

func TestExportDirRoundTrip(t *testing.T) {
	ctx := context.Background()
	s3 := MustObjects(t)
	a := fixture(t, s3)
	dir := filepath.Join(t.TempDir(), "export")
	d, err := export.OpenDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ex := &export.Exporter{Content: a.content, Objects: export.MinioObjects{Client: a.s3}, PrivateBucket: "private", Out: &out, Logger: quiet}
	rep, err := ex.Export(ctx, d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("export: %v\n%s", err, out.String())
	}
	// logo, cat, cover, public's pic, the shot, and the unused upload.
	if rep.Entries != 8 || rep.Images != 6 || rep.Missing != 0 || rep.Bytes <= 0 {
		t.Errorf("report %s\n%s", rep, out.String())
	}
	var files []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	for _, want := range []string{"posts/hello-world/index.md", "posts/hello-world/cat.png", "static/images/logo.png",
		"projects/tool/index.md", "projects/tool/cover.png", "posts/public_/index.md", "posts/public_/pic.png",
		"pages/about/index.md", "pages/gallery/index.md", "static/uploads/2025/shot.jpg", "static/uploads/2025/unused.webp"} {
		if !slices.Contains(files, want) {
			t.Errorf("export lacks %s; has %v", want, files)
		}
	}
	for _, f := range files {
		if strings.Contains(f, ".tmp-") {
			t.Errorf("temporary file left: %s", f)
		}
	}
	hello, _ := os.ReadFile(filepath.Join(dir, "posts", "hello-world", "index.md"))
	for _, want := range []string{"title: Hello, world\n", "date: \"2024-03-01T09:30:00Z\"", "tags: [Go, Web Dev]",
		`![A gradient cat](cat.png "The cat")`, "![logo](/images/logo.png)"} {
		if !strings.Contains(string(hello), want) {
			t.Errorf("hello-world/index.md lacks %q:\n%s", want, hello)
		}
	}

	b := newSite(t, s3, "private-b")
	b.importDir(t, dir)
	compare(t, a, b)

	// Into the same folder again: refused unless forced.
	if _, err := export.OpenDir(dir, false); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("export into a non-empty folder: %v", err)
	}
	d, err = export.OpenDir(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := export.Export(ctx, a.content, export.MinioObjects{Client: a.s3}, "private", d); err != nil {
		t.Errorf("forced export: %v", err)
	}
}

func TestExportZipRoundTrip(t *testing.T) {
	ctx := context.Background()
	s3 := MustObjects(t)
	a := fixture(t, s3)
	zpath := filepath.Join(t.TempDir(), "site.zip")
	f, err := os.Create(zpath)
	if err != nil {
		t.Fatal(err)
	}
	z, err := export.NewZip(f, "site-2025-01-01")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := export.Export(ctx, a.content, export.MinioObjects{Client: a.s3}, "private", z)
	if err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if rep.Entries != 8 || rep.Images != 6 {
		t.Errorf("report %s", rep)
	}
	dir := t.TempDir()
	unzip(t, zpath, dir)
	b := newSite(t, s3, "private-b")
	b.importDir(t, filepath.Join(dir, "site-2025-01-01"))
	compare(t, a, b)
}

// unzip extracts the zip at name into dir, refusing any path a zip
// export must not hold.
func unzip(tb testing.TB, name, dir string) {
	tb.Helper()
	zr, err := zip.OpenReader(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if _, err := export.CleanPath(zf.Name); err != nil || !strings.HasPrefix(zf.Name, "site-2025-01-01/") {
			tb.Fatalf("zip holds %q: %v", zf.Name, err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(zf.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			tb.Fatal(err)
		}
		rc, err := zf.Open()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatalf("%s: %v", zf.Name, err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
