package main_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportRunningSite imports the Hugo fixture, serves it, and exports
// it with the real program from beside the running site (its data dir,
// its object server); the folder imports into a fresh data dir with the
// same entries and the same original bytes. A second export into the now
// full folder is refused without --force.
func TestExportRunningSite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out := filepath.Join(t.TempDir(), "export")
	if code, stdout, stderr := runSite(t, nil, "import", "importer/testdata/hugo", "--data-dir", dir, "--objects.listen", "127.0.0.1:0"); code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	p := StartProc(t, nil, "serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0")
	objects := strings.TrimPrefix(p.Addrs["objects"], "http://")
	if objects == "" {
		t.Fatalf("no objects address in the summary:\n%s", p.Stdout())
	}

	code, stdout, stderr := runSite(t, nil, "export", out, "--data-dir", dir, "--objects.listen", objects)
	if code != 0 || !strings.Contains(stdout, "export: 5 entries, 3 images") || !strings.Contains(stdout, "[5/5] ") {
		t.Fatalf("export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	cat, err := os.ReadFile(filepath.Join(out, "posts", "hello-world", "cat.png"))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := os.ReadFile(filepath.Join("importer", "testdata", "hugo", "content", "posts", "hello-world", "cat.png")); !bytes.Equal(cat, want) {
		t.Errorf("exported cat.png: %d bytes, want the original's %d", len(cat), len(want))
	}
	if code, stdout, stderr := runSite(t, nil, "export", out, "--data-dir", dir, "--objects.listen", objects); code == 0 || !strings.Contains(stderr, "not empty") {
		t.Errorf("export into a full folder: exit %d\n%s\n%s", code, stdout, stderr)
	}

	fresh := filepath.Join(t.TempDir(), "data")
	if code, stdout, stderr := runSite(t, nil, "import", out, "--data-dir", fresh, "--objects.listen", "127.0.0.1:0"); code != 0 ||
		!strings.Contains(stdout, "5 created, 0 updated, 0 unchanged, 0 failed, 0 refused; images: 3 written") {
		t.Fatalf("import of the export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	a, b := openDB(t, filepath.Join(dir, "data.db")), openDB(t, filepath.Join(fresh, "data.db"))
	const entries = `SELECT group_concat(kind || '|' || slug || '|' || title || '|' || summary || '|' || body || '|' || cover_image || '|' ||
		status || '|' || featured || '|' || published_at || '|' || updated_at, char(10)) FROM (SELECT * FROM posts ORDER BY kind, slug)`
	var ea, eb string
	if err := a.QueryRow(entries).Scan(&ea); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(entries).Scan(&eb); err != nil {
		t.Fatal(err)
	}
	if ea != eb {
		t.Errorf("entries differ after export and import:\n%s\n---\n%s", ea, eb)
	}
}
