package main_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/events"
	"site/app/jobs"
	"site/embedded/objects"
	"site/internal/testkit"
)

// TestFiveProcesses runs the compose topology as five real processes, one
// role each, on loopback ports with one shared data dir: page views cross
// web → NATS → worker → data.db, cron replicates data.db into the backup
// bucket of the objects process, and a worker killed with SIGKILL
// mid-stream loses no job and counts none twice.
func TestFiveProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("five processes: skipped in -short")
	}
	dir := t.TempDir()
	obj := StartProc(t, nil, "serve", "--roles=objects", "--data-dir", dir, "--objects.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
	ns := StartProc(t, nil, "serve", "--roles=nats", "--data-dir", dir, "--nats.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
	endpoint, natsURL := obj.Addrs["objects"], ns.Addrs["nats"]
	if endpoint == "" || natsURL == "" {
		t.Fatalf("no objects endpoint (%q) or nats URL (%q) in the summaries:\n%s\n%s", endpoint, natsURL, obj.Stdout(), ns.Stdout())
	}
	remote := []string{"--data-dir", dir, "--objects.endpoint", endpoint, "--nats.url", natsURL}
	cron := StartProc(t, nil, append([]string{"serve", "--roles=cron", "--ops.listen", "127.0.0.1:0"}, remote...)...)
	workerArgs := append([]string{"serve", "--roles=worker", "--ops.listen", "127.0.0.1:0"}, remote...)
	worker := StartProc(t, nil, workerArgs...)
	web := StartProc(t, nil, append([]string{"serve", "--roles=web", "--web.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0"}, remote...)...)
	site := web.Addrs["web"]

	for name, p := range map[string]*Proc{"objects": obj, "nats": ns, "cron": cron, "worker": worker, "web": web} {
		if code, body := get(t, p.Addrs["ops"]+"/readyz"); code != 200 {
			t.Errorf("%s /readyz = %d %s", name, code, body)
		}
	}
	if code, body := get(t, site+"/readyz"); code != 200 {
		t.Fatalf("web /readyz = %d %s", code, body)
	}

	// One page view crosses all five.
	db := openDB(t, filepath.Join(dir, "data.db"))
	if code, _ := get(t, site+"/"); code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	testkit.WaitFor(t, 15*time.Second, "the first page view", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") == 1
	})

	// A page view on the web process reaches the admin's dashboard stream
	// on it through the worker in another process: events.metrics.views
	// names its path.
	owner := signInOwner(t, site, web.Addrs["setup"], worker.Stderr)
	streamCtx, stopStream := context.WithCancel(context.Background())
	dashboard := readSSE(t, streamCtx, owner, site+"/admin/live")
	get(t, site+"/about")
	waitEvent(t, dashboard, 15*time.Second, "the view of /about on the dashboard's stream", func(e sseEvent) bool {
		var v events.Views
		return e.Name == events.SubjectViews && json.Unmarshal([]byte(e.Data), &v) == nil && v.Paths["/about"] == 1
	})
	stopStream()

	// cron replicates data.db into the backup bucket of the objects process.
	s3 := clientFromSecrets(t, dir, endpoint)
	testkit.WaitFor(t, 15*time.Second, "Litestream files in the backup bucket", func() bool {
		n := 0
		for o := range s3.ListObjects(context.Background(), "backup", minio.ListObjectsOptions{Prefix: "data.db/", Recursive: true}) {
			if o.Err == nil {
				n++
			}
		}
		return n > 0
	})

	// Page views keep coming while the worker is killed mid-stream and
	// restarted: every one is counted, none twice.
	const views = 600
	var ok atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for range next {
				if code, _ := get(t, site+"/"); code == 200 {
					ok.Add(1)
				}
			}
		})
	}
	go func() {
		for i := range views {
			next <- i
			if i%20 == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		close(next)
	}()
	testkit.WaitFor(t, 30*time.Second, "the worker to be part-way", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") >= 1+views/4
	})
	worker.Kill()
	killedAt := count(t, db, "SELECT count(*) FROM page_views")
	wg.Wait()
	if ok.Load() != views {
		t.Fatalf("%d of %d page requests succeeded", ok.Load(), views)
	}
	StartProc(t, nil, workerArgs...)
	want := 2 + views // and the two views above
	testkit.WaitFor(t, 60*time.Second, "every page view after the restart", func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") >= want
	})
	time.Sleep(jobs.AckWait + 2*time.Second) // any redelivery of a job done before the kill would land by now
	if n := count(t, db, "SELECT count(*) FROM page_views"); n != want {
		t.Errorf("page_views = %d, want exactly %d", n, want)
	}
	if n := count(t, db, "SELECT count(DISTINCT job_id) FROM page_views"); n != want {
		t.Errorf("distinct job ids = %d, want %d", n, want)
	}
	// The web role sends views in batches: each batch behind a stored view
	// is recorded as processed, and no other.
	batches := count(t, db, "SELECT count(DISTINCT substr(job_id, 1, instr(job_id, '.') - 1)) FROM page_views")
	if n := count(t, db, "SELECT count(*) FROM processed_jobs WHERE kind = 'pageview'"); n != batches || n < 2 {
		t.Errorf("processed_jobs = %d, want the %d batches behind the views", n, batches)
	}
	t.Logf("worker killed with %d of %d views recorded; all %d recorded once after restart", killedAt, want, want)

	// Everything stops cleanly on SIGTERM, NATS and objects last.
	for _, p := range []*Proc{web, cron, ns, obj} {
		if code, took := p.Stop(); code != 0 || took > 12*time.Second {
			t.Errorf("stop: exit %d after %s", code, took)
		}
	}
}

// clientFromSecrets signs S3 requests with the keys generated into dir.
func clientFromSecrets(t testing.TB, dir, endpoint string) *minio.Client {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Access string `json:"s3_access_key"`
		Secret string `json:"s3_secret_key"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	c, err := objects.NewClient(strings.TrimSpace(endpoint), s.Access, s.Secret, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
