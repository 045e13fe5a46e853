package main_test

import (
	"database/sql"
	bin "encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"site/internal/testkit"
)

// TestReplicaSurvivesCronRestart runs the compose topology under a steady
// page-view load, stops the cron process (SIGKILL, and SIGTERM) while web and
// worker keep writing until data.db's WAL has been restarted, starts cron
// again and writes on. Every restore of the replica after that, the latest
// point and points in time after the restart, must pass integrity_check and
// hold what the live database held then; the latest holds exactly the live
// rows.
func TestReplicaSurvivesCronRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("five processes: skipped in -short")
	}
	for _, stop := range []string{"SIGKILL", "SIGTERM"} {
		t.Run(stop, func(t *testing.T) {
			dir := t.TempDir()
			obj := StartProc(t, nil, "serve", "--roles=objects", "--data-dir", dir, "--objects.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
			ns := StartProc(t, nil, "serve", "--roles=nats", "--data-dir", dir, "--nats.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
			endpoint := obj.Addrs["objects"]
			remote := []string{"--data-dir", dir, "--objects.endpoint", endpoint, "--nats.url", ns.Addrs["nats"]}
			cronArgs := append([]string{"serve", "--roles=cron", "--ops.listen", "127.0.0.1:0"}, remote...)
			cron := StartProc(t, nil, cronArgs...)
			worker := StartProc(t, nil, append([]string{"serve", "--roles=worker", "--ops.listen", "127.0.0.1:0"}, remote...)...)
			web := StartProc(t, nil, append([]string{"serve", "--roles=web", "--web.listen", "127.0.0.1:0"}, remote...)...)
			dbPath := filepath.Join(dir, "data.db")
			db := openDB(t, dbPath)

			load := startLoad(t, web.Addrs["web"])
			testkit.WaitFor(t, 30*time.Second, "page views stored", func() bool {
				return count(t, db, "SELECT count(*) FROM page_views") > 500
			})

			// Stop cron late in a WAL generation, so the next one starts
			// before cron is back and is still shorter than where cron stopped.
			var salt uint64
			var frames int
			testkit.WaitFor(t, 60*time.Second, "a long WAL", func() bool {
				salt, frames = walState(t, dbPath)
				return frames > 600
			})
			if stop == "SIGKILL" {
				cron.Kill()
			} else if code, _ := cron.Stop(); code != 0 {
				t.Fatalf("cron exit %d on SIGTERM", code)
			}
			// While cron is away the owner imports posts (cold pages, written
			// once), and the load goes on. No process checkpoints the WAL
			// behind the replicator's back: it grows past the 1,000 pages at
			// which SQLite would restart it by default.
			if code, stdout, stderr := runSite(t, nil, "import", "importer/testdata/hugo", "--data-dir", dir, "--objects.endpoint", endpoint); code != 0 {
				t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
			}
			testkit.WaitFor(t, 120*time.Second, "the WAL to grow past 1,500 pages while cron is away", func() bool {
				s, n := walState(t, dbPath)
				if s != salt {
					t.Fatalf("the WAL was restarted while cron was away (at %d frames of the new generation)", n)
				}
				return n > 1500
			})
			// Something else (an operator's sqlite3 shell, an older site)
			// checkpoints it anyway; the next write restarts the WAL.
			restartWAL(t, dbPath)
			testkit.WaitFor(t, 30*time.Second, "a write to restart the WAL", func() bool {
				s, _ := walState(t, dbPath)
				return s != salt
			})
			awayViews := count(t, db, "SELECT count(*) FROM page_views")
			_, newFrames := walState(t, dbPath)
			cron = StartProc(t, nil, cronArgs...)
			restarted := time.Now()
			_, startFrames := walState(t, dbPath)
			t.Logf("cron stopped at frame %d; WAL restarted; %d frames when cron started, %d when up", frames, newFrames, startFrames)
			if code, body := get(t, cron.Addrs["ops"]+"/readyz"); code != 200 {
				t.Errorf("cron /readyz after restart = %d %s", code, body)
			}
			time.Sleep(7 * time.Second)
			load.stop()
			settle(t, db)
			for _, p := range []*Proc{web, worker, cron} {
				if code, _ := p.Stop(); code != 0 {
					t.Errorf("exit %d on SIGTERM", code)
				}
			}
			live := tableCounts(t, dbPath)
			t.Logf("%d page requests; %d views stored when cron came back, %d in all", load.ok.Load(), awayViews, live["page_views"])

			// The latest point holds exactly the live rows.
			got := restoreInto(t, dir, endpoint, "")
			if fmt.Sprint(got) != fmt.Sprint(live) {
				t.Errorf("latest restore: rows %v, live %v", got, live)
			}
			// Points after the restart restore to a sound database.
			for _, after := range []time.Duration{time.Second, 3 * time.Second, 5 * time.Second} {
				at := restarted.Add(after).UTC().Format(time.RFC3339Nano)
				got := restoreInto(t, dir, endpoint, at)
				if n := got["page_views"]; n < awayViews || n > live["page_views"] {
					t.Errorf("restore --at restart+%s: %d page views, want %d..%d", after, n, awayViews, live["page_views"])
				}
			}
		})
	}
}

// TestReplicaSurvivesRestartOneProcess restarts the one-process layout
// (SIGKILL, and SIGTERM) while pages are requested: every restore of a point
// after the restart is sound, and the latest holds exactly the live rows.
func TestReplicaSurvivesRestartOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts under load: skipped in -short")
	}
	for _, stop := range []string{"SIGKILL", "SIGTERM"} {
		t.Run(stop, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"serve", "--data-dir", dir, "--web.listen", freeAddr(t), "--objects.listen", "127.0.0.1:0"}
			p := StartProc(t, nil, args...)
			dbPath := filepath.Join(dir, "data.db")
			db := openDB(t, dbPath)
			load := startLoad(t, p.Addrs["web"])
			testkit.WaitFor(t, 30*time.Second, "page views stored", func() bool {
				return count(t, db, "SELECT count(*) FROM page_views") > 500
			})
			if stop == "SIGKILL" {
				p.Kill()
			} else if code, _ := p.Stop(); code != 0 {
				t.Fatalf("exit %d on SIGTERM", code)
			}
			before := count(t, db, "SELECT count(*) FROM page_views")
			p = StartProc(t, nil, args...)
			restarted := time.Now()
			time.Sleep(6 * time.Second)
			load.stop()
			settle(t, db)
			if code, _ := p.Stop(); code != 0 {
				t.Errorf("exit %d on SIGTERM", code)
			}
			live := tableCounts(t, dbPath)
			t.Logf("%d page requests; %d views stored at the restart, %d in all", load.ok.Load(), before, live["page_views"])

			obj := StartProc(t, nil, "serve", "--roles=objects", "--data-dir", dir, "--objects.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
			endpoint := obj.Addrs["objects"]
			if got := restoreInto(t, dir, endpoint, ""); fmt.Sprint(got) != fmt.Sprint(live) {
				t.Errorf("latest restore: rows %v, live %v", got, live)
			}
			for _, after := range []time.Duration{time.Second, 3 * time.Second} {
				at := restarted.Add(after).UTC().Format(time.RFC3339Nano)
				if n := restoreInto(t, dir, endpoint, at)["page_views"]; n < before || n > live["page_views"] {
					t.Errorf("restore --at restart+%s: %d page views, want %d..%d", after, n, before, live["page_views"])
				}
			}
		})
	}
}

// freeAddr returns a loopback address with a port free now, for a process
// that must listen on the same address after a restart.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// load is a steady stream of page requests against a site.
type load struct {
	ok   atomic.Int64
	quit chan struct{}
	wg   sync.WaitGroup
}

// startLoad requests the home page of site from four clients until stop;
// requests that fail (the site restarting) are retried.
func startLoad(t *testing.T, site string) *load {
	l := &load{quit: make(chan struct{})}
	for range 4 {
		l.wg.Go(func() {
			for {
				select {
				case <-l.quit:
					return
				default:
				}
				resp, err := http.Get(site + "/")
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					l.ok.Add(1)
				}
			}
		})
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	l.wg.Wait()
}

// walState reads the header of dbPath's WAL and returns its salts, which
// change each time SQLite restarts the WAL from its beginning, and how many
// frames of this generation it holds.
func walState(t *testing.T, dbPath string) (salt uint64, frames int) {
	t.Helper()
	wal, err := os.ReadFile(dbPath + "-wal")
	if err != nil || len(wal) < 32 {
		return 0, 0 // not written yet
	}
	salt = bin.BigEndian.Uint64(wal[16:24])
	frameSize := 24 + int(bin.BigEndian.Uint32(wal[8:12]))
	for off := 32; off+frameSize <= len(wal); off += frameSize {
		if bin.BigEndian.Uint64(wal[off+8:off+16]) != salt {
			break
		}
		frames++
	}
	return salt, frames
}

// restartWAL checkpoints the WAL at dbPath from a connection of its own, so
// that the next write starts the WAL over.
func restartWAL(t *testing.T, dbPath string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testkit.WaitFor(t, 60*time.Second, "wal_checkpoint(RESTART) not busy", func() bool {
		var busy, frames, done int
		if err := db.QueryRow("PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &done); err != nil {
			t.Fatalf("wal_checkpoint(RESTART): %v", err)
		}
		return busy == 0
	})
}

// settle waits until the stored page views stop growing.
func settle(t *testing.T, db *sql.DB) {
	t.Helper()
	last := -1
	testkit.WaitFor(t, 60*time.Second, "the worker to store the last page views", func() bool {
		n := count(t, db, "SELECT count(*) FROM page_views")
		if n == last {
			return true
		}
		last = n
		time.Sleep(time.Second)
		return false
	})
}

// tableCounts checks a database with integrity_check and returns the rows
// of each of its tables and of the page_views view.
func tableCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	db := openDB(t, path)
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("%s: integrity_check = %q, %v", path, check, err)
		return nil
	}
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_litestream_%' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"page_views"}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	rows.Close()
	counts := map[string]int{}
	for _, name := range names {
		counts[name] = count(t, db, `SELECT count(*) FROM "`+name+`"`)
	}
	return counts
}

// restoreInto runs site restore from the replica in the backup bucket at
// endpoint into a new data dir (with the keys of dir), as of at (RFC 3339;
// empty for the latest), and returns the restored database's row counts.
func restoreInto(t *testing.T, dir, endpoint, at string) map[string]int {
	t.Helper()
	out := t.TempDir()
	secrets, err := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "secrets.json"), secrets, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"restore", "--data-dir", out, "--objects.endpoint", endpoint}
	if at != "" {
		args = append(args, "--at", at)
	}
	code, stdout, stderr := runSite(t, nil, args...)
	if code != 0 {
		t.Errorf("site %s: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout, lastLines(stderr, 5))
		return nil
	}
	return tableCounts(t, filepath.Join(out, "data.db"))
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestWALAlertWithoutCron runs every role but cron: nobody checkpoints
// data.db, so its WAL grows under page views without being restarted, and
// past replica.wal_alert_bytes the process raises an alert (stored by the
// worker) and reports the size in /metrics.
func TestWALAlertWithoutCron(t *testing.T) {
	if testing.Short() {
		t.Skip("page load: skipped in -short")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "site.hcl")
	if err := os.WriteFile(cfg, []byte("replica {\n  wal_alert_bytes = 1048576\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := StartProc(t, nil, "serve", "--roles=objects,nats,web,worker", "--config", cfg, "--data-dir", dir,
		"--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
	dbPath := filepath.Join(dir, "data.db")
	db := openDB(t, dbPath)
	get(t, p.Addrs["web"]+"/")
	testkit.WaitFor(t, 15*time.Second, "the first page view", func() bool { return count(t, db, "SELECT count(*) FROM page_views") == 1 })
	salt, _ := walState(t, dbPath)
	load := startLoad(t, p.Addrs["web"])
	testkit.WaitFor(t, 60*time.Second, "the alert of a WAL past 1 MiB", func() bool {
		return count(t, db, "SELECT count(*) FROM alerts WHERE message LIKE '%WAL has grown to%cron has not been running%'") == 1
	})
	load.stop()
	if s, frames := walState(t, dbPath); s != salt {
		t.Errorf("the WAL was restarted without cron (%d frames of a new generation)", frames)
	}
	_, body := get(t, p.Addrs["ops"]+"/metrics")
	m := regexp.MustCompile(`(?m)^site_data_wal_bytes (\S+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no site_data_wal_bytes in /metrics:\n%s", grepLines(body, "site_data"))
	}
	if v, _ := strconv.ParseFloat(m[1], 64); v <= 1<<20 {
		t.Errorf("site_data_wal_bytes = %s, want more than 1 MiB", m[1])
	}
}
