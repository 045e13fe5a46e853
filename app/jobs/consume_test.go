package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
	"site/internal/testkit"
)

// outcomes records what OnDone reports, in order.
type outcomes struct {
	mu   sync.Mutex
	list []string // "kind:outcome"
}

func (o *outcomes) done(kind, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, kind+":"+outcome)
}

func (o *outcomes) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.list)
}

// MustRun runs c until stop is called or the test ends; stop cancels Run and
// returns how long Run took to return after the cancel, and its error.
func MustRun(tb testing.TB, c *jobs.Consumer) (stop func() (time.Duration, error)) {
	tb.Helper()
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx) }()
	var once sync.Once
	var err error
	var took time.Duration
	stop = func() (time.Duration, error) {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Run did not return 10s after its context was cancelled")
			}
			took = time.Since(start)
		})
		return took, err
	}
	tb.Cleanup(func() { stop() })
	return stop
}

func newConsumer(js jetstream.JetStream, n int, o *outcomes) *jobs.Consumer {
	c := jobs.NewConsumer(js)
	c.Concurrency, c.Logger = n, quiet
	if o != nil {
		c.OnDone = o.done
	}
	return c
}

func TestConsumerRunsHandlerPerKind(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	kinds := []string{jobs.SubjectPageView, jobs.SubjectImage, jobs.SubjectNotify, jobs.SubjectAlert}
	for _, subject := range kinds {
		for i := range 3 {
			publish(t, js, subject, fmt.Sprintf("%s-%d", subject, i), subject+" body")
		}
	}
	publish(t, js, jobs.SubjectAlert, "", "no id") // falls back to the stream sequence

	var mu sync.Mutex
	seen := map[string][]string{} // kind -> ids
	var calls atomic.Int64
	var o outcomes
	c := newConsumer(js, 4, &o)
	for _, subject := range kinds {
		kind := jobs.Job{Subject: subject}.Kind()
		c.Handlers[kind] = func(_ context.Context, j jobs.Job) error {
			calls.Add(1)
			if j.Subject != subject || j.Kind() != kind {
				t.Errorf("%s handler got a job on %s", kind, j.Subject)
			}
			if j.ID != "" && !strings.HasPrefix(j.ID, "seq-") && string(j.Data) != subject+" body" {
				t.Errorf("job %s data = %q", j.ID, j.Data)
			}
			mu.Lock()
			defer mu.Unlock()
			seen[kind] = append(seen[kind], j.ID)
			return nil
		}
	}
	stop := MustRun(t, c)
	testkit.WaitFor(t, 10*time.Second, "every job handled and acked", func() bool {
		return calls.Load() >= 13 && streamMsgs(t, js, jobs.StreamJobs) == 0
	})
	if _, err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	if n := calls.Load(); n != 13 {
		t.Fatalf("handlers called %d times, want 13", n)
	}
	for _, subject := range kinds {
		kind := jobs.Job{Subject: subject}.Kind()
		want := []string{subject + "-0", subject + "-1", subject + "-2"}
		if kind == "alert" {
			want = append(want, "seq-13")
		}
		got := slices.Sorted(slices.Values(seen[kind]))
		if !slices.Equal(got, want) {
			t.Errorf("%s handler saw %v, want %v", kind, got, want)
		}
	}
	for _, oc := range o.get() {
		if !strings.HasSuffix(oc, ":ok") {
			t.Errorf("outcome %s, want ok", oc)
		}
	}
	if ci := workerInfo(t, js); ci.NumAckPending != 0 || ci.NumPending != 0 || ci.NumRedelivered != 0 {
		t.Errorf("worker consumer: ack pending %d, pending %d, redelivered %d; want 0, 0, 0",
			ci.NumAckPending, ci.NumPending, ci.NumRedelivered)
	}
}

func TestConsumerUnknownKindIsRetried(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	publish(t, js, "jobs.mystery", "m-1", "?")

	var o outcomes
	c := newConsumer(js, 2, &o)
	c.Handlers["pageview"] = func(context.Context, jobs.Job) error { return nil }
	stop := MustRun(t, c)
	testkit.WaitFor(t, 5*time.Second, "the first retry", func() bool { return len(o.get()) >= 1 })
	first := time.Now()
	testkit.WaitFor(t, 5*time.Second, "the redelivery after Backoff(1)", func() bool { return len(o.get()) >= 2 })
	gap := time.Since(first)
	if _, err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	if got := o.get(); !slices.Equal(got[:2], []string{"mystery:retry", "mystery:retry"}) {
		t.Fatalf("outcomes %v, want two mystery:retry", got)
	}
	if gap < jobs.Backoff(1)-200*time.Millisecond {
		t.Errorf("redelivered after %s, want about Backoff(1) = %s", gap, jobs.Backoff(1))
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 1 {
		t.Fatalf("JOBS has %d messages, want the unhandled job kept", n)
	}
	if n := streamMsgs(t, js, jobs.StreamDead); n != 0 {
		t.Fatalf("JOBS_DEAD has %d messages after 2 deliveries, want 0", n)
	}
}

func TestConsumerRetriesFailedJobThenAcksOnce(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	publish(t, js, jobs.SubjectNotify, "n-1", "mail")

	var mu sync.Mutex
	var at []time.Time
	var o outcomes
	c := newConsumer(js, 2, &o)
	c.Handlers["notify"] = func(_ context.Context, j jobs.Job) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if len(at) == 1 {
			return errors.New("smtp down")
		}
		return nil
	}
	stop := MustRun(t, c)
	testkit.WaitFor(t, 8*time.Second, "the retried job to be acked", func() bool {
		return len(o.get()) >= 2 && streamMsgs(t, js, jobs.StreamJobs) == 0
	})
	time.Sleep(200 * time.Millisecond)
	if _, err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(at) != 2 {
		t.Fatalf("handler called %d times, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < jobs.Backoff(1)-200*time.Millisecond || gap > jobs.Backoff(2) {
		t.Errorf("retry came %s after the failure, want about Backoff(1) = %s", gap, jobs.Backoff(1))
	}
	if got := o.get(); !slices.Equal(got, []string{"notify:retry", "notify:ok"}) {
		t.Errorf("outcomes %v, want [notify:retry notify:ok]", got)
	}
	if n := streamMsgs(t, js, jobs.StreamDead); n != 0 {
		t.Errorf("JOBS_DEAD has %d messages, want 0", n)
	}
}

// TestConsumerDeadLetters uses up deliveries of a job with immediate naks
// from the test itself (on the same durable consumer), so the Consumer sees
// the job's MaxDeliver-th delivery, or a later one (the one after a delivery
// that timed out), without waiting out the real backoffs.
func TestConsumerDeadLetters(t *testing.T) {
	t.Parallel()
	for _, prior := range []uint64{jobs.MaxDeliver - 1, jobs.MaxDeliver} {
		t.Run(fmt.Sprintf("after %d deliveries", prior), func(t *testing.T) {
			t.Parallel()
			testDeadLetter(t, prior)
		})
	}
}

func testDeadLetter(t *testing.T, prior uint64) {
	_, js := MustStreams(t)
	publish(t, js, jobs.SubjectImage, "img-7", "original.jpg")

	cons, err := js.Consumer(ctx(t), jobs.StreamJobs, jobs.ConsumerWorker)
	if err != nil {
		t.Fatal(err)
	}
	for want := uint64(1); want <= prior; want++ {
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		msg, ok := <-b.Messages()
		if !ok {
			t.Fatalf("delivery %d: no message (%v)", want, b.Error())
		}
		meta, err := msg.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if meta.NumDelivered != want {
			t.Fatalf("delivery %d reports NumDelivered %d", want, meta.NumDelivered)
		}
		if err := msg.Nak(); err != nil {
			t.Fatal(err)
		}
		for range b.Messages() {
		}
	}

	var calls atomic.Int64
	var o outcomes
	c := newConsumer(js, 2, &o)
	c.Handlers["image"] = func(context.Context, jobs.Job) error {
		calls.Add(1)
		return errors.New("decode: pixel cap exceeded")
	}
	stop := MustRun(t, c)
	testkit.WaitFor(t, 8*time.Second, "the job in JOBS_DEAD", func() bool { return streamMsgs(t, js, jobs.StreamDead) == 1 })
	testkit.WaitFor(t, 5*time.Second, "the job gone from JOBS", func() bool { return streamMsgs(t, js, jobs.StreamJobs) == 0 })
	if _, err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1 (the last delivery)", n)
	}
	if got := o.get(); !slices.Equal(got, []string{"image:dead"}) {
		t.Errorf("outcomes %v, want [image:dead]", got)
	}
	dead, err := js.Stream(ctx(t), jobs.StreamDead)
	if err != nil {
		t.Fatal(err)
	}
	m, err := dead.GetLastMsgForSubject(ctx(t), jobs.DeadPrefix+jobs.SubjectImage)
	if err != nil {
		t.Fatalf("dead letter on %s: %v", jobs.DeadPrefix+jobs.SubjectImage, err)
	}
	if string(m.Data) != "original.jpg" {
		t.Errorf("dead letter data %q, want the job's payload", m.Data)
	}
	if got := m.Header.Get("Site-Job-Id"); got != "img-7" {
		t.Errorf("Site-Job-Id = %q, want img-7", got)
	}
	if got := m.Header.Get("Site-Error"); !strings.Contains(got, "pixel cap exceeded") {
		t.Errorf("Site-Error = %q, want the handler's error", got)
	}
	if ci := workerInfo(t, js); ci.NumAckPending != 0 || ci.NumPending != 0 {
		t.Errorf("worker consumer: ack pending %d, pending %d after Term; want 0, 0", ci.NumAckPending, ci.NumPending)
	}
}

// TestConsumerOutageIsNotDeadLettered: a job failing with Unavailable (the
// object store down) after more deliveries than MaxDeliver is retried,
// not moved to the dead letters.
func TestConsumerOutageIsNotDeadLettered(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	publish(t, js, jobs.SubjectImage, "img-8", "original.jpg")
	cons, err := js.Consumer(ctx(t), jobs.StreamJobs, jobs.ConsumerWorker)
	if err != nil {
		t.Fatal(err)
	}
	for range jobs.MaxDeliver + 1 {
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		msg, ok := <-b.Messages()
		if !ok {
			t.Fatalf("no message (%v)", b.Error())
		}
		if err := msg.Nak(); err != nil {
			t.Fatal(err)
		}
		for range b.Messages() {
		}
	}
	var o outcomes
	c := newConsumer(js, 2, &o)
	c.Handlers["image"] = func(context.Context, jobs.Job) error {
		return jobs.Unavailable(errors.New("get original: dial tcp 127.0.0.1:9000: connect: connection refused"))
	}
	stop := MustRun(t, c)
	testkit.WaitFor(t, 8*time.Second, "the delivery's outcome", func() bool { return len(o.get()) == 1 })
	if _, err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := o.get(); !slices.Equal(got, []string{"image:retry"}) {
		t.Errorf("outcomes %v, want [image:retry]", got)
	}
	if n := streamMsgs(t, js, jobs.StreamDead); n != 0 {
		t.Errorf("%d dead letters for an outage, want 0", n)
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 1 {
		t.Errorf("JOBS holds %d, want the job waiting for its retry", n)
	}
}

func TestConsumerShutdownWaitsForInFlight(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	publish(t, js, jobs.SubjectPageView, "slow-1", "{}")

	started := make(chan struct{})
	var committed atomic.Bool
	c := newConsumer(js, 2, nil)
	c.Handlers["pageview"] = func(hctx context.Context, j jobs.Job) error {
		close(started)
		select {
		case <-time.After(700 * time.Millisecond):
		case <-hctx.Done():
			return hctx.Err() // the handler's context must outlive Run's
		}
		committed.Store(true)
		return nil
	}
	stop := MustRun(t, c)
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("handler never started")
	}
	took, err := stop()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !committed.Load() {
		t.Fatal("Run returned before the in-flight handler finished")
	}
	if took > 5*time.Second {
		t.Errorf("Run took %s to return after cancel", took)
	}
	// The ack is part of finishing: the work-queue stream is already empty.
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 0 {
		t.Fatalf("JOBS has %d messages right after Run returned, want 0 (acked)", n)
	}
}

// TestConsumerShutdownGivesBackWaitingJobs: a job fetched but still
// waiting for a slot when Run is cancelled is given back at once (Nak), not
// left awaiting its ack until AckWait, and is not handled.
func TestConsumerShutdownGivesBackWaitingJobs(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	publish(t, js, jobs.SubjectImage, "img-1", "")
	publish(t, js, jobs.SubjectImage, "img-2", "")

	started, release := make(chan struct{}, 2), make(chan struct{})
	var calls atomic.Int64
	c := newConsumer(js, 1, nil)
	c.Handlers["image"] = func(context.Context, jobs.Job) error {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return nil
	}
	// Both must come in the consumer's first fetch (a fetch that finds
	// nothing waits for one job only): start once the consumer sees both.
	testkit.WaitFor(t, 5*time.Second, "both jobs pending", func() bool { return workerInfo(t, js).NumPending == 2 })
	stop := MustRun(t, c)
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("handler never started")
	}
	testkit.WaitFor(t, 5*time.Second, "both jobs fetched", func() bool { return workerInfo(t, js).NumAckPending == 2 })
	stopped := make(chan error, 1)
	go func() { _, err := stop(); stopped <- err }()

	// While the first job is still in hand, the second comes back.
	cons, err := js.Consumer(ctx(t), jobs.StreamJobs, jobs.ConsumerWorker)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cons.Fetch(1, jetstream.FetchMaxWait(jobs.AckWait/2))
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := <-b.Messages()
	close(release)
	if !ok {
		t.Fatalf("the waiting job did not come back before AckWait (%v)", b.Error())
	}
	if id := msg.Headers().Get(jetstream.MsgIDHeader); id != "img-2" {
		t.Errorf("job %s came back, want img-2", id)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1: the job given back was handled too", n)
	}
}

func TestConsumerConcurrencyLimit(t *testing.T) {
	t.Parallel()
	const limit, fetch, total = 3, 4, 18
	_, js := MustStreams(t)
	for i := range total {
		publish(t, js, jobs.SubjectImage, fmt.Sprintf("img-%d", i), "")
	}

	var inFlight, peak, done atomic.Int64
	c := newConsumer(js, limit, nil)
	c.BatchSize = fetch
	c.Handlers["image"] = func(context.Context, jobs.Job) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(40 * time.Millisecond)
		done.Add(1)
		return nil
	}

	// The loop fetches again only once every job of the last fetch has a
	// slot: the server never has more than the running jobs and one fetch
	// awaiting an ack.
	var ackPeak atomic.Int64
	pollDone := make(chan struct{})
	stopPoll := make(chan struct{})
	go func() {
		defer close(pollDone)
		cons, err := js.Consumer(context.Background(), jobs.StreamJobs, jobs.ConsumerWorker)
		if err != nil {
			return
		}
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if info, err := cons.Info(context.Background()); err == nil && int64(info.NumAckPending) > ackPeak.Load() {
				ackPeak.Store(int64(info.NumAckPending))
			}
		}
	}()

	stop := MustRun(t, c)
	testkit.WaitFor(t, 10*time.Second, "every job handled", func() bool {
		return done.Load() == total && streamMsgs(t, js, jobs.StreamJobs) == 0
	})
	close(stopPoll)
	<-pollDone
	if _, err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	if p := peak.Load(); p > limit {
		t.Fatalf("%d handlers ran at once, Concurrency is %d", p, limit)
	} else if p < 2 {
		t.Errorf("at most %d handler ran at once; want jobs handled in parallel", p)
	}
	if p := ackPeak.Load(); p > limit+fetch-1 {
		t.Errorf("server saw %d deliveries awaiting ack, want at most %d (Concurrency %d, BatchSize %d)", p, limit+fetch-1, limit, fetch)
	}
	if done.Load() != total {
		t.Errorf("handled %d jobs, want %d", done.Load(), total)
	}
}
