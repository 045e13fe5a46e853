package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAllRolesOneProcess runs the real program with every role on port 0
// in a temp dir: a GET of / becomes a page-view row through NATS and the
// worker, and the ops endpoints answer.
func TestAllRolesOneProcess(t *testing.T) {
	dir := t.TempDir()
	p := StartProc(t, nil, "serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0")
	site := p.Addrs["web"]
	if site == "" || !strings.HasPrefix(p.Stdout(), "site is up at http://127.0.0.1:") {
		t.Fatalf("start-up summary does not open with the site's URL:\n%s", p.Stdout())
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
	waitFor(t, 15*time.Second, "a page-view row", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views WHERE path = '/'") == 1
	})

	if code, body := get(t, site+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	code, body = get(t, site+"/readyz")
	if code != 200 {
		t.Errorf("/readyz = %d %q", code, body)
	}
	for _, dep := range []string{`"data.db":"ok"`, `"nats":"ok"`, `"objects":"ok"`} {
		if !strings.Contains(body, dep) {
			t.Errorf("/readyz lacks %s: %s", dep, body)
		}
	}
	// The worker counts a job done after its confirmed ack, a round trip
	// after the row is visible.
	waitFor(t, 15*time.Second, "the page view counted done in /metrics", func() bool {
		_, body := get(t, site+"/metrics")
		return strings.Contains(body, `site_jobs_done_total{kind="pageview",outcome="ok"} 1`)
	})
	code, body = get(t, site+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
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
