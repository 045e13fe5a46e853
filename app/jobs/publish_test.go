package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
	"site/embedded/natsd"
	"site/internal/testkit"
)

// MustPublisher opens a Publisher on js with the given buffer; at cleanup it
// is closed (giving up quickly, for tests that leave NATS down).
func MustPublisher(tb testing.TB, js jetstream.JetStream, buffer int) *jobs.Publisher {
	tb.Helper()
	p := jobs.NewPublisher(js)
	p.Buffer, p.Logger = buffer, quiet
	p.Open()
	tb.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		p.Close(c)
	})
	return p
}

// countDrops counts the items p drops, in OnDrop, as the web role does.
func countDrops(p *jobs.Publisher) *atomic.Int64 {
	var n atomic.Int64
	p.OnDrop = func(j jobs.Job) { n.Add(int64(max(1, j.Count))) }
	return &n
}

func pageview(i int) jobs.Job {
	return jobs.Job{ID: fmt.Sprintf("pv-%d", i), Subject: jobs.SubjectPageView, Data: []byte(fmt.Sprintf(`{"n":%d}`, i))}
}

func TestPublisherPublishesAndDrainsOnClose(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	p := MustPublisher(t, js, 100)
	dropped := countDrops(p)
	var published atomic.Int64
	p.OnPublish = func(jobs.Job) { published.Add(1) }
	for i := range 50 {
		if !p.Enqueue(pageview(i)) {
			t.Fatalf("Enqueue %d refused with room in the buffer", i)
		}
	}
	left, err := p.Close(ctx(t))
	if left != 0 || err != nil {
		t.Fatalf("Close = %d, %v; want 0, nil", left, err)
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 50 {
		t.Fatalf("JOBS has %d messages after Close, want 50", n)
	}
	if published.Load() != 50 || dropped.Load() != 0 || p.Pending() != 0 {
		t.Fatalf("published %d dropped %d pending %d; want 50, 0, 0", published.Load(), dropped.Load(), p.Pending())
	}
}

func TestPublisherSameIDStoredOnce(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	p := MustPublisher(t, js, 10)
	j := pageview(1)
	p.Enqueue(j)
	p.Enqueue(j) // a retried enqueue of the same job
	p.Enqueue(pageview(2))
	if left, err := p.Close(ctx(t)); left != 0 || err != nil {
		t.Fatalf("Close = %d, %v", left, err)
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 2 {
		t.Fatalf("JOBS has %d messages, want 2 (same id stored once)", n)
	}
}

func TestPublisherDropsWhenFull(t *testing.T) {
	t.Parallel()
	s, js := MustStreams(t)
	s.Server.Close() // NATS is down: the publishing goroutine keeps retrying its first job.

	p := MustPublisher(t, js, 2)
	var mu sync.Mutex
	var droppedIDs []string
	p.OnDrop = func(j jobs.Job) {
		mu.Lock()
		defer mu.Unlock()
		droppedIDs = append(droppedIDs, j.ID)
	}

	if !p.Enqueue(pageview(1)) {
		t.Fatal("first Enqueue refused")
	}
	testkit.WaitFor(t, 5*time.Second, "the goroutine to take the first job", func() bool { return p.Pending() == 0 })
	for i := 2; i <= 3; i++ {
		if !p.Enqueue(pageview(i)) {
			t.Fatalf("Enqueue %d refused with room in the buffer", i)
		}
	}
	start := time.Now()
	for i := 4; i <= 5; i++ {
		if p.Enqueue(pageview(i)) {
			t.Fatalf("Enqueue %d accepted with the buffer full", i)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Enqueue on a full buffer took %s; it must never block", d)
	}
	if p.Pending() != 2 {
		t.Fatalf("Pending() = %d, want 2", p.Pending())
	}
	mu.Lock()
	if fmt.Sprint(droppedIDs) != "[pv-4 pv-5]" {
		t.Errorf("OnDrop got %v, want [pv-4 pv-5]", droppedIDs)
	}
	mu.Unlock()

	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	left, err := p.Close(c)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close err = %v, want deadline exceeded", err)
	}
	// Three jobs were never published (pv-1 in hand, pv-2 and pv-3 buffered);
	// Close counts only the buffered ones today (see the report).
	if left < 2 {
		t.Fatalf("Close reports %d unpublished, want at least the 2 buffered", left)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %s after its context ended", d)
	}
}

// TestPublisherDropsAJobTooLargeForTheServer: a job over the server's
// payload limit is dropped and counted at once instead of being retried
// forever in front of the jobs behind it.
func TestPublisherDropsAJobTooLargeForTheServer(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	p := MustPublisher(t, js, 100)
	dropped := countDrops(p)
	huge := pageview(1)
	huge.Data, huge.Count = make([]byte, 9<<20), 7 // the embedded server takes 8 MiB
	p.Enqueue(huge)
	p.Enqueue(pageview(2))
	if left, err := p.Close(ctx(t)); left != 0 || err != nil {
		t.Fatalf("Close = %d, %v; want 0, nil", left, err)
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 1 || dropped.Load() != 7 {
		t.Fatalf("JOBS has %d messages, %d dropped; want the small job published and the 7 items of the huge one dropped", n, dropped.Load())
	}
}

// TestPublisherBoundsTheJobsWaiting: however large the item bound, at most
// 16,384 jobs wait; the rest are dropped and counted, never blocking.
func TestPublisherBoundsTheJobsWaiting(t *testing.T) {
	t.Parallel()
	s, js := MustStreams(t)
	s.Server.Close()
	p := MustPublisher(t, js, 1_000_000)
	dropped := countDrops(p)
	p.Enqueue(pageview(0))
	testkit.WaitFor(t, 5*time.Second, "the goroutine to take the first job", func() bool { return p.Pending() == 0 })
	taken := 0
	for i := 1; i <= 16_400; i++ {
		if p.Enqueue(pageview(i)) {
			taken++
		}
	}
	if taken != 16_384 || dropped.Load() != 16 || p.Pending() != 16_384 {
		t.Fatalf("took %d, dropped %d, pending %d; want 16384, 16, 16384", taken, dropped.Load(), p.Pending())
	}
}

// TestPublisherBoundsBatchesByTheirItems: a job carrying many page views
// weighs its Count in the buffer and in the drop count.
func TestPublisherBoundsBatchesByTheirItems(t *testing.T) {
	t.Parallel()
	s, js := MustStreams(t)
	s.Server.Close()
	p := MustPublisher(t, js, 10)
	dropped := countDrops(p)
	batch := func(i, n int) jobs.Job { j := pageview(i); j.Count = n; return j }
	p.Enqueue(pageview(1))
	testkit.WaitFor(t, 5*time.Second, "the goroutine to take the first job", func() bool { return p.Pending() == 0 })
	if !p.Enqueue(batch(2, 8)) {
		t.Fatal("a batch of 8 refused with room for 10")
	}
	if p.Enqueue(batch(3, 3)) {
		t.Fatal("a batch of 3 accepted with room for 2")
	}
	if !p.Enqueue(batch(4, 2)) {
		t.Fatal("a batch of 2 refused with room for 2")
	}
	if dropped.Load() != 3 || p.Pending() != 10 {
		t.Fatalf("dropped %d, Pending() = %d; want 3, 10", dropped.Load(), p.Pending())
	}
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if left, _ := p.Close(c); left < 10 {
		t.Fatalf("Close reports %d views unpublished, want at least the 10 buffered", left)
	}
}

func TestPublisherRetriesUntilNATSIsBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := testkit.NATS(t, func(s *natsd.Server) { s.StoreDir = dir }).Server
	addr := s.Addr()
	nc, err := nats.Connect(s.URL(), nats.Token(testkit.NATSToken),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.EnsureStreams(ctx(t), js); err != nil {
		t.Fatal(err)
	}

	p := MustPublisher(t, js, 100)
	var published atomic.Int64
	p.OnPublish = func(jobs.Job) { published.Add(1) }

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "the client to notice", func() bool { return !nc.IsConnected() })
	for i := range 5 {
		if !p.Enqueue(pageview(i)) {
			t.Fatalf("Enqueue %d refused while NATS is down", i)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := published.Load(); n != 0 {
		t.Fatalf("%d jobs reported published while NATS was down", n)
	}

	testkit.NATS(t, func(s *natsd.Server) { s.StoreDir, s.Listen = dir, addr }) // the same store, on the same port

	if left, err := p.Close(ctx(t)); left != 0 || err != nil {
		t.Fatalf("Close = %d, %v; want every buffered job published", left, err)
	}
	if n := published.Load(); n != 5 {
		t.Fatalf("OnPublish called %d times, want 5", n)
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 5 {
		t.Fatalf("JOBS has %d messages after NATS came back, want 5", n)
	}
}
