package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRestoreBrokenReplica damages the newest LTX file of the replica in
// the stopped site's object store: `site restore` writes nothing, exits
// non-zero and prints the command line that restores the newest point that
// passes, and that command line works.
func TestRestoreBrokenReplica(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0"}
	p := StartProc(t, nil, append([]string{"serve"}, args...)...)
	site := p.Addrs["web"]
	dbPath := filepath.Join(dir, "data.db")
	db := openDB(t, dbPath)
	viewPages(t, site, db, 3)
	db.Close()
	if code, _ := p.Stop(); code != 0 { // the final sync ships everything
		t.Fatalf("serve exit %d", code)
	}

	// The replica as the embedded object server stores it: one directory
	// per level. Keep the level-0 chain only (levels above repeat it, and
	// could cover the damage), then cut the newest file short.
	replica := filepath.Join(dir, "objects", "backup", "data.db")
	levels, err := os.ReadDir(replica)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range levels {
		if l.Name() != "0000" {
			if err := os.RemoveAll(filepath.Join(replica, l.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	l0, err := filepath.Glob(filepath.Join(replica, "0000", "*.ltx"))
	if err != nil || len(l0) < 2 {
		t.Fatalf("level-0 files %v, %v: want at least 2", l0, err)
	}
	slices.Sort(l0)
	newest := l0[len(l0)-1]
	fi, err := os.Stat(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(newest, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"data.db", "data.db-wal", "data.db-shm"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}

	code, stdout, stderr := runSite(t, nil, "restore", "--data-dir", dir)
	if code == 0 {
		t.Fatalf("restore of a broken replica: exit 0\n%s\n%s", stdout, stderr)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Fatalf("the failed restore wrote %s: %v", dbPath, err)
	}
	var suggested []string
	for line := range strings.Lines(stderr) {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "site" && f[1] == "restore" && f[2] == "--at" {
			suggested = f[1:]
		}
	}
	if suggested == nil || !strings.Contains(stderr, "fails its check") || !strings.Contains(stderr, "nothing was written") {
		t.Fatalf("restore of a broken replica printed no command line to run:\n%s", stderr)
	}
	t.Logf("stderr:\n%s", stderr)

	code, stdout, stderr = runSite(t, nil, suggested...)
	if code != 0 {
		t.Fatalf("the suggested %v: exit %d\n%s\n%s", suggested, code, stdout, stderr)
	}
	check := openDB(t, dbPath)
	defer check.Close()
	var res string
	if err := check.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
}
