package main_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"site/internal/testkit"
)

// TestPageViewsWaitWhileNATSIsDown stops the NATS process for 60 seconds
// under a web process whose buffer holds 40 page views, while 100 pages
// are read: pages are still served, views beyond the buffer are dropped
// and counted in /metrics, and once NATS is back every view not counted as
// dropped reaches data.db, once.
func TestPageViewsWaitWhileNATSIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("NATS outage: skipped in -short")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "site.hcl")
	if err := os.WriteFile(cfg, []byte("analytics {\n  buffer = 40\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	natsArgs := []string{"serve", "--roles=nats", "--data-dir", dir, "--nats.listen", natsAddr, "--ops.listen", "127.0.0.1:0"}
	obj := StartProc(t, nil, "serve", "--roles=objects", "--data-dir", dir, "--objects.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
	ns := StartProc(t, nil, natsArgs...)
	remote := []string{"--data-dir", dir, "--objects.endpoint", obj.Addrs["objects"], "--nats.url", ns.Addrs["nats"]}
	StartProc(t, nil, append([]string{"serve", "--roles=worker", "--ops.listen", "127.0.0.1:0"}, remote...)...)
	web := StartProc(t, nil, append([]string{"serve", "--roles=web", "--config", cfg, "--web.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0"}, remote...)...)
	site := web.Addrs["web"]
	db := openDB(t, filepath.Join(dir, "data.db"))
	if code, _ := get(t, site+"/"); code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	testkit.WaitFor(t, 15*time.Second, "the first page view", func() bool { return count(t, db, "SELECT count(*) FROM page_views") == 1 })

	ns.Stop()
	down := time.Now()
	const views = 100
	for i := range views {
		if code, _ := get(t, site+"/"); code != 200 {
			t.Fatalf("GET / with NATS down = %d", code)
		}
		if i%10 == 9 {
			time.Sleep(6 * time.Second) // a batch goes out every 100 ms; ten of them over the minute
		}
	}
	time.Sleep(time.Until(down.Add(60 * time.Second)))
	_, metrics := get(t, web.Addrs["ops"]+"/metrics")
	m := regexp.MustCompile(`(?m)^site_jobs_dropped_total\{kind="pageview"\} (\d+)$`).FindStringSubmatch(metrics)
	if m == nil {
		t.Fatalf("no dropped page views in /metrics:\n%s", metrics)
	}
	dropped, _ := strconv.Atoi(m[1])
	if dropped < 1 || dropped > views-40 {
		t.Fatalf("%d views dropped with room for 40 of %d", dropped, views)
	}

	StartProc(t, nil, natsArgs...)
	want := 1 + views - dropped
	testkit.WaitFor(t, 60*time.Second, "the held views after NATS is back", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") >= want
	})
	time.Sleep(3 * time.Second) // a view published twice would land by now
	if n := count(t, db, "SELECT count(*) FROM page_views"); n != want {
		t.Fatalf("page_views = %d, want %d (1 + %d served − %d dropped)", n, want, views, dropped)
	}
	t.Logf("NATS down %s for %d views: %d dropped and counted, %d held and stored once NATS was back", time.Since(down).Round(time.Second), views, dropped, views-dropped)
}
