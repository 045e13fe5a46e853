package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	waitFor(t, 60*time.Second, "variants of every imported image", func() bool {
		return count(t, db, "SELECT count(DISTINCT image_key) FROM image_variants") == images
	})
	code, body := get(t, p.Addrs["web"]+"/posts/hello-world/")
	if code != 200 {
		t.Fatalf("GET the imported post = %d", code)
	}
	if !strings.Contains(body, "srcset=") || !strings.Contains(body, "/media/variants/") {
		t.Errorf("the imported post's image has no srcset of variants:\n%s", body)
	}
}
