package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"site/internal/testkit"
)

// TestDiskFull runs the site with its data directory on a small
// filesystem and fills it: pages keep being served, writes fail with a
// clear error and an alert is raised, nothing stored before is damaged, no
// job is dead-lettered for it, and once space is freed everything resumes:
// the views read meanwhile are stored, once. Needs root to mount a tmpfs;
// skipped otherwise.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("disk full: skipped in -short")
	}
	disk := testkit.SmallDisk(t, 160<<20)
	dir := filepath.Join(disk, "data")
	p := StartProc(t, nil, "serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0")
	site := p.Addrs["web"]
	db := openDB(t, filepath.Join(dir, "data.db"))
	viewPages(t, site, db, 5)

	free := testkit.FillDisk(t, disk)
	const during = 20
	for range during {
		if code, _ := get(t, site+"/"); code != 200 {
			t.Fatalf("GET / on a full disk = %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	testkit.WaitFor(t, 60*time.Second, "the full disk in the log", func() bool {
		return strings.Contains(p.Stderr(), "disk is nearly full") &&
			(strings.Contains(p.Stderr(), "no space left on device") || strings.Contains(p.Stderr(), "disk is full"))
	})
	free()
	testkit.WaitFor(t, 120*time.Second, "the views read during the outage, and the alert", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") >= 5+during &&
			count(t, db, "SELECT count(*) FROM alerts WHERE source = 'disk'") >= 1
	})
	time.Sleep(3 * time.Second) // a view stored twice would land by now
	if n := count(t, db, "SELECT count(*) FROM page_views"); n != 5+during {
		t.Errorf("page_views = %d, want %d", n, 5+during)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	if strings.Contains(p.Stderr(), "moved to dead letters") {
		t.Errorf("a job was dead-lettered for the full disk")
	}
	if code, _ := p.Stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}
