package jobs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"site/app/jobs"
	"site/internal/testkit"
)

func TestBatchConsumerAcksAndRetries(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	for i := range 120 {
		publish(t, js, jobs.SubjectPageView, fmt.Sprintf("pv-%d", i), "{}")
	}
	publish(t, js, jobs.SubjectNotify, "n-1", "mail")
	c := jobs.NewConsumer(js)
	c.Logger, c.BatchSize = quiet, 50
	var views, batches, notes atomic.Int64
	var failOnce atomic.Bool
	c.Batch["pageview"] = func(_ context.Context, js []jobs.Job) error {
		if len(js) > 50 {
			t.Errorf("batch of %d jobs, more than BatchSize", len(js))
		}
		if !failOnce.Swap(true) {
			return fmt.Errorf("first batch fails")
		}
		batches.Add(1)
		views.Add(int64(len(js)))
		return nil
	}
	c.Handlers["notify"] = func(context.Context, jobs.Job) error { notes.Add(1); return nil }
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(cctx); close(done) }()
	testkit.WaitFor(t, 20*time.Second, "every job done", func() bool { return views.Load() == 120 && notes.Load() == 1 })
	cancel()
	<-done
	if batches.Load() >= 120 {
		t.Errorf("%d batches for 120 jobs: not batched", batches.Load())
	}
	testkit.WaitFor(t, 5*time.Second, "the stream empty", func() bool { return streamMsgs(t, js, jobs.StreamJobs) == 0 })
}

func TestPermanentErrorIsDeadAtOnce(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	publish(t, js, jobs.SubjectImage, "img-bad", "text")
	c := jobs.NewConsumer(js)
	c.Logger = quiet
	var tries atomic.Int64
	c.Handlers["image"] = func(context.Context, jobs.Job) error {
		tries.Add(1)
		return jobs.Permanent(fmt.Errorf("not an image"))
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(cctx)
	testkit.WaitFor(t, 10*time.Second, "the dead letter", func() bool { return streamMsgs(t, js, jobs.StreamDead) == 1 })
	if n := tries.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// BenchmarkBatchConsumer is the NATS side of batched jobs: a backlog
// drained by a consumer whose batch handler does nothing.
func BenchmarkBatchConsumer(b *testing.B) {
	_, js := MustStreams(b)
	p := jobs.NewPublisher(js)
	p.Buffer, p.Logger = 1_000_000, quiet
	p.Open()
	n := max(b.N, 1000)
	for i := range n {
		p.Enqueue(jobs.Job{ID: fmt.Sprintf("pv-%d", i), Subject: jobs.SubjectPageView, Data: []byte(`{"path":"/","ua":"x"}`)})
	}
	p.Close(context.Background())
	b.ResetTimer()
	c := jobs.NewConsumer(js)
	c.Logger = quiet
	var got atomic.Int64
	c.Batch["pageview"] = func(_ context.Context, js []jobs.Job) error { got.Add(int64(len(js))); return nil }
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(cctx); close(done) }()
	for got.Load() < int64(n) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/job")
}

// TestJobErrorsFailOnlyTheirJobs: a batch handler that did all jobs but
// one names it in a JobErrors; that job alone is retried (here: dead at
// once, its error being Permanent), the others are acked.
func TestJobErrorsFailOnlyTheirJobs(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	for i := range 10 {
		publish(t, js, jobs.SubjectPageView, fmt.Sprintf("pv-%d", i), "{}")
	}
	c := jobs.NewConsumer(js)
	c.Logger, c.BatchSize = quiet, 50
	var handled atomic.Int64
	c.Batch["pageview"] = func(_ context.Context, batch []jobs.Job) error {
		failed := jobs.JobErrors{}
		for _, j := range batch {
			handled.Add(1)
			if j.ID == "pv-3" {
				failed[j.ID] = jobs.Permanent(fmt.Errorf("format from the future"))
			}
		}
		if len(failed) > 0 {
			return failed
		}
		return nil
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(cctx)
	testkit.WaitFor(t, 10*time.Second, "one dead letter and the stream empty", func() bool {
		return streamMsgs(t, js, jobs.StreamDead) == 1 && streamMsgs(t, js, jobs.StreamJobs) == 0
	})
	time.Sleep(200 * time.Millisecond)
	if n := handled.Load(); n != 10 {
		t.Errorf("handler saw %d jobs, want each of the 10 once", n)
	}
	if n := streamMsgs(t, js, jobs.StreamDead); n != 1 {
		t.Errorf("%d dead letters, want only the failed job's", n)
	}
}
