package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestore writes rows, lets Litestream sync, deletes data.db and brings
// it back with `site restore`; --at a time before the last write gives a
// database without it.
func TestRestore(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0"}
	p := StartProc(t, nil, append([]string{"serve"}, args...)...)
	site := p.Addrs["web"]
	dbPath := filepath.Join(dir, "data.db")
	db := openDB(t, dbPath)
	viewPages(t, site, db, 3)
	time.Sleep(2500 * time.Millisecond) // more than the 1 s sync interval
	before := time.Now().UTC()
	time.Sleep(1500 * time.Millisecond)
	get(t, site+"/")
	waitFor(t, 15*time.Second, "the 4th page view", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") == 4
	})
	if code, _ := p.Stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	db.Close()

	restoreArgs := []string{"restore", "--data-dir", dir}
	code, _, stderr := runSite(t, nil, restoreArgs...)
	if code == 0 || !strings.Contains(stderr, "exists; stop the site and add --force to replace it") {
		t.Fatalf("restore over an existing data.db: exit %d, %q; want a refusal", code, stderr)
	}

	for _, f := range []string{"data.db", "data.db-wal", "data.db-shm"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runSite(t, nil, restoreArgs...)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "restored "+dbPath) {
		t.Errorf("restore printed %q", stdout)
	}
	assertRows(t, dbPath, 4)

	code, stdout, stderr = runSite(t, nil, append(restoreArgs, "--force", "--at", before.Format(time.RFC3339Nano))...)
	if code != 0 {
		t.Fatalf("restore --at: exit %d\n%s\n%s", code, stdout, stderr)
	}
	assertRows(t, dbPath, 3)

	// The restored database serves again.
	p = StartProc(t, nil, append([]string{"serve"}, args...)...)
	get(t, p.Addrs["web"]+"/")
	db = openDB(t, dbPath)
	waitFor(t, 15*time.Second, "a page view on the restored database", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") == 4
	})
}

func assertRows(t *testing.T, path string, want int) {
	t.Helper()
	db := openDB(t, path)
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	if n := count(t, db, "SELECT count(*) FROM page_views"); n != want {
		t.Fatalf("restored page_views = %d, want %d", n, want)
	}
	db.Close()
}
