package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"site/internal/testkit"
)

// TestImportThenServe imports the Hugo fixture with the real program, then
// serves it: the worker makes variants of the imported images (found by its
// sweep, since the import had no NATS to publish to) and the post's page
// offers them in srcset.
func TestImportThenServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet, as on a fresh machine
	code, stdout, stderr := runSite(t, nil, "import", "importer/testdata/hugo", "--data-dir", dir, "--objects.listen", "127.0.0.1:0")
	if code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	db := openDB(t, filepath.Join(dir, "data.db"))
	images := count(t, db, "SELECT count(*) FROM images")
	if images < 2 {
		t.Fatalf("import recorded %d images, want the fixture's images", images)
	}
	if n := count(t, db, "SELECT count(*) FROM image_variants"); n != 0 {
		t.Fatalf("variants before any worker ran: %d", n)
	}

	p := StartProc(t, nil, "serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0")
	testkit.WaitFor(t, 60*time.Second, "variants of every imported image", func() bool {
		return count(t, db, "SELECT count(DISTINCT image_key) FROM image_variants") == images
	})
	code, body := get(t, p.Addrs["web"]+"/posts/hello-world/")
	if code != 200 {
		t.Fatalf("GET the imported post = %d", code)
	}
	if !strings.Contains(body, "srcset=") || !strings.Contains(body, "/media/variants/") {
		t.Errorf("the imported post's image has no srcset of variants:\n%s", body)
	}
	// Readers get the variant through /media/, never the original (it is
	// in the private bucket only, with its metadata).
	if code, _ := get(t, p.Addrs["web"]+"/media/variants/posts/hello-world/cat/64.jpg"); code != 200 {
		t.Errorf("GET the imported image's variant = %d", code)
	}
	for _, path := range []string{"/media/posts/hello-world/cat.png", "/media/originals/posts/hello-world/cat.png"} {
		if code, _ := get(t, p.Addrs["web"]+path); code != 404 {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
}
