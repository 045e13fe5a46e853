package jobs_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
)

func TestEnsureStreamsIdempotent(t *testing.T) {
	t.Parallel()
	s, js := MustStreams(t)
	publish(t, js, jobs.SubjectPageView, "keep-me", "{}")

	// Again on the same connection: no error, nothing lost.
	if err := jobs.EnsureStreams(ctx(t), js); err != nil {
		t.Fatalf("second EnsureStreams: %v", err)
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 1 {
		t.Fatalf("JOBS has %d messages after EnsureStreams again, want 1", n)
	}

	// From two more connections at once, a few times each.
	_, js2 := s.Connect(t)
	_, js3 := s.Connect(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for _, j := range []jetstream.JetStream{js2, js3} {
		wg.Go(func() {
			for range 3 {
				errs <- jobs.EnsureStreams(ctx(t), j)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent EnsureStreams: %v", err)
		}
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 1 {
		t.Fatalf("JOBS has %d messages after concurrent EnsureStreams, want 1", n)
	}

	st, err := js.Stream(ctx(t), jobs.StreamJobs)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.Retention != jetstream.WorkQueuePolicy || cfg.Storage != jetstream.FileStorage || cfg.Duplicates != jobs.DuplicateWindow {
		t.Errorf("JOBS config: retention %v storage %v duplicates %v", cfg.Retention, cfg.Storage, cfg.Duplicates)
	}
	for _, name := range []string{jobs.StreamDead, jobs.StreamEvents} {
		if _, err := js.Stream(ctx(t), name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	// The server redelivers without limit; the worker dead-letters a job after
	// MaxDeliver deliveries (so one whose last delivery timed out is not stuck).
	ci := workerInfo(t, js)
	if ci.Config.Durable != jobs.ConsumerWorker || ci.Config.AckPolicy != jetstream.AckExplicitPolicy || ci.Config.MaxDeliver > 0 {
		t.Errorf("worker consumer: durable %q ack %v maxdeliver %d; want worker, explicit, unlimited",
			ci.Config.Durable, ci.Config.AckPolicy, ci.Config.MaxDeliver)
	}
}

func TestDuplicateJobIDStoredOnce(t *testing.T) {
	t.Parallel()
	_, js := MustStreams(t)
	if ack := publish(t, js, jobs.SubjectImage, "img-42", "a"); ack.Duplicate {
		t.Fatal("first publish reported as duplicate")
	}
	if ack := publish(t, js, jobs.SubjectImage, "img-42", "a"); !ack.Duplicate {
		t.Fatal("second publish with the same id not reported as duplicate")
	}
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 1 {
		t.Fatalf("JOBS has %d messages, want 1", n)
	}
	publish(t, js, jobs.SubjectImage, "img-43", "b")
	if n := streamMsgs(t, js, jobs.StreamJobs); n != 2 {
		t.Fatalf("JOBS has %d messages after a new id, want 2", n)
	}
}

func TestJobKind(t *testing.T) {
	for subject, want := range map[string]string{
		jobs.SubjectPageView: "pageview",
		jobs.SubjectImage:    "image",
		"dead.jobs.notify":   "notify",
		"alert":              "alert",
		"jobs.":              "",
	} {
		if got := (jobs.Job{Subject: subject}).Kind(); got != want {
			t.Errorf("Kind(%q) = %q, want %q", subject, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{
		-1: time.Second, 0: time.Second, 1: time.Second, 2: 5 * time.Second,
		3: 30 * time.Second, 4: 2 * time.Minute, 5: 2 * time.Minute, 100: 2 * time.Minute,
	} {
		if got := jobs.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}
