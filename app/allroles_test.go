package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"site/internal/testkit"
)

// TestAllRolesOneProcess runs the real program with every role on port 0
// in a temp dir: a GET of / becomes a page-view row through NATS and the
// worker, and the ops endpoints answer: /healthz and /readyz on the site's
// listener and the ops listener, /metrics on the ops listener only.
func TestAllRolesOneProcess(t *testing.T) {
	dir := t.TempDir()
	p := StartProc(t, nil, "serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0",
		"--ops.listen", "127.0.0.1:0")
	site, ops := p.Addrs["web"], p.Addrs["ops"]
	if site == "" || !strings.HasPrefix(p.Stdout(), "site is up at http://127.0.0.1:") {
		t.Fatalf("start-up summary does not open with the site's URL:\n%s", p.Stdout())
	}
	if ops == "" || ops == site {
		t.Fatalf("start-up summary has no ops listener of its own (site %q, ops %q):\n%s", site, ops, p.Stdout())
	}
	for _, role := range []string{"objects", "nats", "worker", "cron"} {
		if !strings.Contains(p.Stdout(), "  "+role+" ") {
			t.Errorf("start-up summary has no %s line:\n%s", role, p.Stdout())
		}
	}

	code, body := get(t, site+"/")
	if code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("GET / = %d %q", code, body)
	}
	db := openDB(t, filepath.Join(dir, "data.db"))
	testkit.WaitFor(t, 15*time.Second, "a page-view row", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views WHERE path = '/'") == 1
	})

	for _, addr := range []string{site, ops} {
		if code, body := get(t, addr+"/healthz"); code != 200 || body != "ok\n" {
			t.Errorf("%s/healthz = %d %q", addr, code, body)
		}
		code, body = get(t, addr+"/readyz")
		if code != 200 {
			t.Errorf("%s/readyz = %d %q", addr, code, body)
		}
		for _, dep := range []string{`"data.db":"ok"`, `"ttl.db":"ok"`, `"replica":"ok"`, `"nats":"ok"`, `"objects":"ok"`} {
			if !strings.Contains(body, dep) {
				t.Errorf("%s/readyz lacks %s: %s", addr, dep, body)
			}
		}
	}
	// The site's listener, which anyone can reach, has no /metrics.
	if code, body := get(t, site+"/metrics"); code != 404 || strings.Contains(body, "# TYPE") || strings.Contains(body, "go_goroutines") {
		t.Errorf("%s/metrics on the site's listener = %d; want 404 without metrics", site, code)
	}
	// The worker counts a job done after its confirmed ack, a round trip
	// after the row is visible.
	testkit.WaitFor(t, 15*time.Second, "the page view counted done in /metrics", func() bool {
		_, body := get(t, ops+"/metrics")
		return strings.Contains(body, `site_jobs_done_total{kind="pageview",outcome="ok"} 1`)
	})
	code, body = get(t, ops+"/metrics")
	if code != 200 {
		t.Fatalf("ops /metrics = %d", code)
	}
	for _, m := range []string{`site_http_requests_total{code="200",method="GET",route="GET /{$}"} 1`, `site_jobs_done_total{kind="pageview",outcome="ok"} 1`, "go_goroutines"} {
		if !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if code, _ := get(t, site+"/no-such-page"); code != 404 {
		t.Errorf("GET /no-such-page = %d, want 404", code)
	}

	exit, took := p.Stop()
	if exit != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", exit)
	}
	if took > 10*time.Second+2*time.Second {
		t.Errorf("shutdown took %s; the limit is 10s", took)
	}
	if !strings.Contains(p.Stderr(), "msg=stopped") {
		t.Errorf("no 'stopped' log line:\n%s", p.Stderr())
	}
}
