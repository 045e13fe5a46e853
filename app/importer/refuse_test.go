package importer_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/png"
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

// secret stands for the S3 keys of data/secrets.json: it lives outside the
// imported folder and must reach neither the database nor the buckets.
const secret = "S3-SECRET-KEY-do-not-publish-7f3a"

// TestImportRefusesLinksAndEscapes imports a folder holding a real post
// beside a link to a secret file outside it, a link to a folder outside, a
// post whose images are ../outside.png and one in the linked folder, and a
// post whose image is a link: the posts import, the secret is nowhere in
// the database or the buckets, and every refused path is listed with its
// reason and counted.
func TestImportRefusesLinksAndEscapes(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "site")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{dir, outside, filepath.Join(outside, "folder")} {
		mustMkdir(t, d)
	}
	mustWrite(t, filepath.Join(outside, "secrets.md"), []byte("---\ntitle: Keys\n---\n"+secret+"\n"))
	mustWrite(t, filepath.Join(outside, "folder", "inner.md"), []byte("---\ntitle: Inner\n---\n"+secret+"\n"))
	mustWrite(t, filepath.Join(outside, "outside.png"), pngWith(t, secret))
	mustWrite(t, filepath.Join(outside, "linked.png"), pngWith(t, secret))
	mustWrite(t, filepath.Join(outside, "folder", "inner.png"), pngWith(t, secret))

	mustWrite(t, filepath.Join(dir, "real.md"), []byte("---\ntitle: Real\ndate: 2024-01-01\n---\nA real post with a real picture.\n\n![pic](pic.png)\n"))
	mustWrite(t, filepath.Join(dir, "pic.png"), pngWith(t, "an ordinary picture"))
	mustWrite(t, filepath.Join(dir, "escape.md"), []byte("---\ntitle: Escape\ndate: 2024-01-02\n---\nClimbs out.\n\n![out](../outside.png)\n![in](linked/inner.png)\n"))
	mustWrite(t, filepath.Join(dir, "linkimg.md"), []byte("---\ntitle: Link image\ndate: 2024-01-03\n---\nShows a link.\n\n![shot](shot.png)\n"))
	mustSymlink(t, filepath.Join(outside, "secrets.md"), filepath.Join(dir, "leak.md"))
	mustSymlink(t, filepath.Join(outside, "folder"), filepath.Join(dir, "linked"))
	mustSymlink(t, filepath.Join(outside, "linked.png"), filepath.Join(dir, "shot.png"))

	ctx := context.Background()
	db := testkit.DataDB(t)
	s3 := MustObjects(t)
	cs := content.NewStore(db)
	var out bytes.Buffer
	im := &importer.Importer{Content: cs, Objects: importer.MinioObjects{Client: s3},
		PrivateBucket: "private", Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) },
		Out: &out, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	rep, err := im.Import(ctx, dir)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	if rep.Created != 3 || rep.Failed != 0 || rep.Refused != 5 || rep.ImagesWritten != 1 {
		t.Errorf("report %s, want 3 created, 0 failed, 5 refused, 1 image written\n%s", rep, out.String())
	}
	for _, want := range []string{
		"refused leak.md: a symbolic link\n",
		"refused linked: a symbolic link\n",
		"refused shot.png: a symbolic link\n",
		"refused ../outside.png: outside the imported folder (image in escape.md)\n",
		"refused linked/inner.png: through linked, a symbolic link (image in escape.md)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "refused "); n != 5 {
		t.Errorf("%d refusals listed, want 5:\n%s", n, out.String())
	}
	if !strings.Contains(rep.String(), "5 refused") {
		t.Errorf("summary %q does not count the refusals", rep)
	}
	for _, slug := range []string{"real", "escape", "linkimg"} {
		if _, err := cs.Get(ctx, content.KindPost, slug); err != nil {
			t.Errorf("post %s: %v", slug, err)
		}
	}
	real, err := cs.Get(ctx, content.KindPost, "real")
	if err == nil && !strings.Contains(real.Body, "![pic](/media/posts/real/pic.png)") {
		t.Errorf("the real post's picture was not imported:\n%s", real.Body)
	}
	for _, table := range []string{"posts", "tags", "images"} {
		if s := tableText(t, db.Read, table); strings.Contains(s, secret) {
			t.Errorf("the secret is in table %s:\n%s", table, s)
		}
	}
	for _, bucket := range []string{"public", "private"} {
		for obj := range s3.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			r, err := s3.GetObject(ctx, bucket, obj.Key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("the secret is in object %s/%s", bucket, obj.Key)
			}
		}
	}
}

// tableText is every value of every row of table, one row a line.
func tableText(tb testing.TB, db *sql.DB, table string) string {
	tb.Helper()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	var sb strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(&sb, "%v\t", v)
		}
		sb.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return sb.String()
}

// pngWith is a small valid PNG with trailer appended after its end, where
// decoders do not look but an upload would carry it.
func pngWith(tb testing.TB, trailer string) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 3))); err != nil {
		tb.Fatal(err)
	}
	b.WriteString(trailer)
	return b.Bytes()
}

func mustMkdir(tb testing.TB, dir string) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
}

func mustWrite(tb testing.TB, name string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func mustSymlink(tb testing.TB, target, link string) {
	tb.Helper()
	if err := os.Symlink(target, link); err != nil {
		tb.Skipf("symbolic links: %v", err)
	}
}
