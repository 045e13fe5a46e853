package analytics_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
	"site/internal/testkit"
)

// sink collects the jobs a Batcher enqueues.
type sink struct {
	mu   sync.Mutex
	jobs []jobs.Job
}

func (s *sink) enqueue(j jobs.Job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = append(s.jobs, j)
	return true
}

func (s *sink) taken() []jobs.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]jobs.Job(nil), s.jobs...)
}

// paths decodes a batch job's views into their paths.
func paths(t *testing.T, j jobs.Job) []string {
	t.Helper()
	views, err := analytics.DecodeBatch(j.Data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range views {
		out = append(out, v.Path)
	}
	if j.Count != len(out) || j.Subject != jobs.SubjectPageView || !strings.HasPrefix(j.ID, "pv-") {
		t.Errorf("job %s on %s counts %d for %d views", j.ID, j.Subject, j.Count, len(out))
	}
	return out
}

func TestBatcherSendsFullBatchesAtOnceAndTheRestAfterMaxWait(t *testing.T) {
	t.Parallel()
	var s sink
	b := &analytics.Batcher{Enqueue: s.enqueue, MaxViews: 10, MaxWait: 50 * time.Millisecond}
	for i := range 25 {
		b.Add(analytics.PageView{Path: fmt.Sprintf("/%d", i)})
	}
	if got := s.taken(); len(got) != 2 {
		t.Fatalf("%d jobs right after 25 views, want the 2 full batches", len(got))
	}
	testkit.WaitFor(t, 30*time.Second, "the third job after MaxWait", func() bool { return len(s.taken()) >= 3 })
	got := s.taken()
	if len(got) != 3 {
		t.Fatalf("%d jobs after MaxWait, want 3", len(got))
	}
	var all []string
	ids := map[string]bool{}
	for _, j := range got {
		all = append(all, paths(t, j)...)
		ids[j.ID] = true
	}
	if len(all) != 25 || all[0] != "/0" || all[24] != "/24" || len(ids) != 3 {
		t.Errorf("views %v in %d distinct jobs; want /0 … /24 in order, 3 ids", all, len(ids))
	}
	if n := len(paths(t, got[2])); n != 5 {
		t.Errorf("the late batch has %d views, want 5", n)
	}
}

// TestBatcherBoundsABatchsBytes: views with long headers make smaller
// batches, each within MaxBytes and one view (well under NATS's payload
// limit); escaped characters (two bytes each) count as they are written.
// Every view is sent.
func TestBatcherBoundsABatchsBytes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name              string
		maxBytes, bound   int // bound: MaxBytes (512 KiB when 0) and one view
		field             string
		views, minBatches int
	}{
		{"long", 64 << 10, 64<<10 + 8<<10, strings.Repeat("x", 2000), 100, 3},
		{"escaped", 0, 512<<10 + 8<<10, strings.Repeat("\t", 2000), 300, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var s sink
			b := &analytics.Batcher{Enqueue: s.enqueue, MaxViews: 1000, MaxBytes: c.maxBytes, MaxWait: time.Hour}
			for i := range c.views { // distinct, so that no line refers to an earlier one
				b.Add(analytics.PageView{Path: "/", Referrer: c.field + strconv.Itoa(i), UserAgent: c.field[:len(c.field)/2] + strconv.Itoa(i)})
			}
			b.Close()
			total := 0
			for _, j := range s.taken() {
				total += len(paths(t, j))
				if len(j.Data) > c.bound {
					t.Errorf("a batch of %d bytes, over %d", len(j.Data), c.bound)
				}
			}
			if got := len(s.taken()); total != c.views || got < c.minBatches {
				t.Errorf("%d views in %d batches; want all %d in at least %d", total, got, c.views, c.minBatches)
			}
		})
	}
}

func TestBatcherCloseSendsTheLastBatch(t *testing.T) {
	t.Parallel()
	var s sink
	b := &analytics.Batcher{Enqueue: s.enqueue, MaxViews: 100, MaxWait: time.Hour}
	for range 3 {
		b.Add(analytics.PageView{Path: "/"})
	}
	b.Close()
	got := s.taken()
	if len(got) != 1 || len(paths(t, got[0])) != 3 {
		t.Fatalf("Close sent %d jobs, want one of 3 views", len(got))
	}
	b.Add(analytics.PageView{Path: "/late"}) // after Close: sent alone, for the publisher to drop and count
	if got := s.taken(); len(got) != 2 || len(paths(t, got[1])) != 1 {
		t.Fatalf("a view after Close: %d jobs, want it sent alone", len(got))
	}
}

func TestBatchJobsStoreEachViewOnce(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	at := time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC)
	clk := &clock{t: at}
	var views int
	r := &analytics.Recorder{DB: db.Write, Site: "test", Now: clk.Now, MaxViews: 7,
		OnCommit: func(s analytics.Summary) { views += s.Views }}
	var batch []jobs.Job
	n := 0
	for size := 1; size <= 12; size++ { // 78 views in 12 jobs, stored 7 views or one job per transaction
		pvs := make([]analytics.PageView, size)
		for i := range pvs {
			pvs[i] = analytics.PageView{Path: fmt.Sprintf("/p/%d", n%5), UserAgent: firefox, IP: fmt.Sprintf("192.0.2.%d", n%9), At: at}
			n++
		}
		batch = append(batch, analytics.NewBatchJob(pvs))
	}
	bad := job("pv-bad", analytics.PageView{}) // no path: done, no effect
	handle(t, r, append(batch, batch[2], bad)...)
	handle(t, r, batch[5:9]...) // redelivered after a crash between commit and ack
	for q, want := range map[string]int{
		"SELECT count(*) FROM page_views":                             78,
		"SELECT count(DISTINCT job_id) FROM page_views":               78,
		"SELECT count(*) FROM processed_jobs WHERE kind = 'pageview'": 13,
		"SELECT sum(views) FROM views_daily":                          78,
		"SELECT sum(visitors) FROM views_daily":                       9,
		"SELECT count(*) FROM daily_visitors":                         9,
	} {
		if got := scalar(t, db.Read, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	if views != 78 {
		t.Errorf("OnCommit summaries add up to %d views, want 78", views)
	}
	last := viewID(batch[11].ID, 11)
	if n := scalar(t, db.Read, "SELECT count(*) FROM page_views WHERE job_id = ?", last); n != 1 {
		t.Errorf("no row with the id of the last view, %s", last)
	}
}
