package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"site/internal/testkit"
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
	testkit.WaitFor(t, time.Minute, "the 3 page views in the replica", func() bool {
		return replicaCount(t, dir, p.Addrs["objects"], "SELECT count(*) FROM page_views") == 3
	})
	before := nextMillisecond(t)
	get(t, site+"/")
	testkit.WaitFor(t, 15*time.Second, "the 4th page view", func() bool {
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
	testkit.WaitFor(t, 15*time.Second, "a page view on the restored database", func() bool {
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

// replicaCount restores the latest state of the replica of the site on
// dataDir, whose object store serves at objURL, into a scratch data dir
// with `site restore`, and runs the count query on it: what a restore
// would bring back now. It is -1 while there is no replica to restore.
func replicaCount(t *testing.T, dataDir, objURL, query string) int {
	t.Helper()
	scratch := t.TempDir()
	secrets, err := os.ReadFile(filepath.Join(dataDir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(scratch, "secrets.json"), secrets, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runSite(t, nil, "restore", "--data-dir", scratch, "--objects.endpoint", objURL); code != 0 {
		return -1
	}
	db := openDB(t, filepath.Join(scratch, "data.db"))
	defer db.Close()
	return count(t, db, query)
}

// nextMillisecond waits until the wall clock has left the millisecond it is
// in and returns the start of the new one. Litestream's files carry their
// time to the millisecond and a restore --at T uses the files from before
// T: what the replica held before the call is in a restore as of the
// returned time, and what is written after it is not.
func nextMillisecond(t *testing.T) time.Time {
	t.Helper()
	now := time.Now()
	var at time.Time
	testkit.WaitFor(t, time.Minute, "the clock to reach the next millisecond", func() bool {
		at = time.Now().UTC().Truncate(time.Millisecond)
		return at.After(now)
	})
	return at
}
