package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler does one job. It must be idempotent: record j.ID in the same
// transaction as the job's effect, and return nil when the ID is already
// recorded. An error makes the job retry later.
type Handler func(ctx context.Context, j Job) error

// Consumer is the worker role's loop: it fetches jobs only when it has a
// free slot, runs the kind's handler, and acknowledges with a confirmed ack
// after the handler's transaction has committed.
type Consumer struct {
	// Concurrency is the number of jobs handled at once.
	Concurrency int
	// Handlers maps a job kind (e.g. "pageview") to its handler.
	Handlers map[string]Handler
	// Batch maps a job kind to a handler of many jobs at once; a kind here
	// is done in batches of up to BatchSize, one batch per slot.
	Batch map[string]BatchHandler
	// BatchSize is the most jobs fetched at once when Batch is not empty.
	BatchSize int
	// Logger receives failures.
	Logger *slog.Logger
	// OnDone, when set, is called after each job with its outcome:
	// "ok", "retry" or "dead".
	OnDone func(kind, outcome string, took time.Duration)

	js jetstream.JetStream
}

// NewConsumer returns a Consumer on js with defaults set.
func NewConsumer(js jetstream.JetStream) *Consumer {
	return &Consumer{js: js, Concurrency: 4, Handlers: map[string]Handler{}, Batch: map[string]BatchHandler{},
		BatchSize: 500, Logger: slog.Default()}
}

// Run consumes until ctx ends, then waits for the jobs in hand to finish
// (their acks included) and returns.
func (c *Consumer) Run(ctx context.Context) error {
	cons, err := c.js.Consumer(ctx, StreamJobs, ConsumerWorker)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", ConsumerWorker, err)
	}
	c.Concurrency = max(1, c.Concurrency)
	if len(c.Batch) > 0 {
		return c.runBatched(ctx, cons)
	}
	slots := make(chan struct{}, c.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		// Wait for at least one free slot, then ask for as many jobs as slots are free.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		free := 1
	more:
		for free < c.Concurrency {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break more
			}
		}
		batch, err := cons.Fetch(free, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			for range free {
				<-slots
			}
			if ctx.Err() != nil {
				return nil
			}
			c.Logger.Warn("fetch jobs", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			wg.Go(func() {
				defer func() { <-slots }()
				c.handle(context.WithoutCancel(ctx), msg)
			})
		}
		for range free - got {
			<-slots
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			c.Logger.Warn("fetch jobs", "err", err)
		}
	}
	return nil
}

// handle runs one job to an outcome. Its context outlives shutdown so that a
// job in hand finishes and is acknowledged.
func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg) {
	start := time.Now()
	j := jobOf(msg)
	h, ok := c.Handlers[j.Kind()]
	var err error
	if !ok {
		err = fmt.Errorf("no handler for job kind %q", j.Kind())
	} else {
		err = h(ctx, j)
	}
	outcome := c.finish(ctx, msg, j, err)
	if c.OnDone != nil {
		c.OnDone(j.Kind(), outcome, time.Since(start))
	}
}

// Permanent marks err as one that no retry can fix (a file that is not an
// image, a payload that will never decode): the job goes to the dead letters
// at once, with err, for the admin to see.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// jobOf reads a delivery as a Job; without a Nats-Msg-Id the stream
// sequence stands in for the id.
func jobOf(msg jetstream.Msg) Job {
	j := Job{ID: msg.Headers().Get(jetstream.MsgIDHeader), Subject: msg.Subject(), Data: msg.Data()}
	if j.ID == "" {
		if meta, err := msg.Metadata(); err == nil {
			j.ID = fmt.Sprintf("seq-%d", meta.Sequence.Stream)
		}
	}
	return j
}

// finish acknowledges a job whose handler succeeded, or schedules its
// retry, or moves it to the dead letters; it returns the outcome.
func (c *Consumer) finish(ctx context.Context, msg jetstream.Msg, j Job, err error) string {
	if err == nil {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if aerr := msg.DoubleAck(actx); aerr != nil {
			// The effect is committed; a redelivery finds the id recorded.
			c.Logger.Warn("ack job", "kind", j.Kind(), "id", j.ID, "err", aerr)
		}
		return "ok"
	}
	n := uint64(1)
	if meta, merr := msg.Metadata(); merr == nil {
		n = meta.NumDelivered
	}
	var perm permanentError
	if errors.As(err, &perm) {
		n = max(n, MaxDeliver) // no retry can fix it: dead letters at once
	}
	if n >= MaxDeliver {
		c.Logger.Error("job failed every delivery; moved to dead letters", "kind", j.Kind(), "id", j.ID, "deliveries", n, "err", err)
		if derr := c.bury(ctx, msg, j, err); derr != nil {
			c.Logger.Error("dead-letter job", "kind", j.Kind(), "id", j.ID, "err", derr)
			_ = msg.NakWithDelay(Backoff(int(n)))
			return "dead"
		}
		_ = msg.Term()
		return "dead"
	}
	c.Logger.Warn("job failed; retrying", "kind", j.Kind(), "id", j.ID, "delivery", n, "err", err)
	_ = msg.NakWithDelay(Backoff(int(n)))
	return "retry"
}

// bury copies a failed job to the dead-letter stream with its last error.
// The copy's id names this delivery (stream sequence), so a retried
// publish of the same burial is dropped but a job that dies again after an
// admin retried it is buried again.
func (c *Consumer) bury(ctx context.Context, delivery jetstream.Msg, j Job, cause error) error {
	msg := &nats.Msg{Subject: DeadPrefix + j.Subject, Data: j.Data, Header: nats.Header{}}
	deadID := "dead-" + j.ID
	if meta, err := delivery.Metadata(); err == nil {
		deadID = fmt.Sprintf("dead-%s-%d", j.ID, meta.Sequence.Stream)
	}
	msg.Header.Set(jetstream.MsgIDHeader, deadID)
	msg.Header.Set("Site-Job-Id", j.ID)
	msg.Header.Set("Site-Error", cause.Error())
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.js.PublishMsg(pctx, msg)
	return err
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
