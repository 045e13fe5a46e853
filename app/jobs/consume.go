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

// Consumer is the worker role's loop. Whenever a slot is free it fetches
// what the stream has, up to BatchSize jobs; the jobs of a Batch kind
// become one unit of work, every other job a unit of its own, and each unit
// takes a slot. It fetches again only once every unit of the last fetch has
// a slot, so the jobs in hand are those of the running units and of one
// fetch. A unit's jobs are acknowledged after its handler's transaction has
// committed, the last of them with a confirmed ack.
type Consumer struct {
	// Concurrency is the number of units of work handled at once.
	Concurrency int
	// Handlers maps a job kind (e.g. "pageview") to its handler.
	Handlers map[string]Handler
	// Batch maps a job kind to a handler of many jobs at once; the jobs of
	// such a kind in one fetch are handled together, in one slot. A kind
	// here is never given to Handlers.
	Batch map[string]BatchHandler
	// BatchSize is the most jobs fetched at once, and so the most jobs in
	// a batch.
	BatchSize int
	// Logger receives failures.
	Logger *slog.Logger
	// Outage, when set, reports whether a handler's error is an outage of
	// something the job needs (a full disk), which is retried like
	// Unavailable: for as long as it lasts, never dead-lettered for it.
	Outage func(error) bool
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

// Run consumes until ctx ends, then waits for the running units to finish
// (their acks included) and returns; jobs fetched but not yet started are
// given back (Nak).
func (c *Consumer) Run(ctx context.Context) error {
	cons, err := c.js.Consumer(ctx, StreamJobs, ConsumerWorker)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", ConsumerWorker, err)
	}
	size := max(1, c.BatchSize)
	slots := make(chan struct{}, max(1, c.Concurrency))
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		msgs, err := c.fetch(ctx, cons, size)
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			c.Logger.Warn("fetch jobs", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if len(msgs) == 0 {
			<-slots
			continue
		}
		units := c.units(msgs)
		for i, unit := range units {
			// The first unit has the slot taken before fetching; each
			// other one waits for its own, in order.
			if i > 0 && !c.waitSlot(ctx, slots, units[i:]) {
				return nil
			}
			wg.Go(func() {
				defer func() { <-slots }()
				wctx := context.WithoutCancel(ctx)
				kind := Job{Subject: unit[0].Subject()}.Kind()
				if h, ok := c.Batch[kind]; ok {
					c.handleBatch(wctx, h, unit)
					return
				}
				c.handle(wctx, unit[0])
			})
		}
	}
	return nil
}

// units splits a fetch into units of work: the jobs of each Batch kind
// together, every other job alone, in the order of their first job.
func (c *Consumer) units(msgs []jetstream.Msg) [][]jetstream.Msg {
	var units [][]jetstream.Msg
	byKind := map[string]int{}
	for _, m := range msgs {
		kind := Job{Subject: m.Subject()}.Kind()
		if _, ok := c.Batch[kind]; !ok {
			units = append(units, []jetstream.Msg{m})
			continue
		}
		if i, ok := byKind[kind]; ok {
			units[i] = append(units[i], m)
			continue
		}
		byKind[kind] = len(units)
		units = append(units, []jetstream.Msg{m})
	}
	return units
}

// fetch takes up to n jobs the stream has now; when it has none, it waits
// up to a second for the first one.
func (c *Consumer) fetch(ctx context.Context, cons jetstream.Consumer, n int) ([]jetstream.Msg, error) {
	collect := func(b jetstream.MessageBatch, err error) ([]jetstream.Msg, error) {
		if err != nil {
			return nil, err
		}
		var msgs []jetstream.Msg
		for m := range b.Messages() {
			msgs = append(msgs, m)
		}
		if err := b.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) && len(msgs) == 0 {
			return nil, err
		}
		return msgs, nil
	}
	msgs, err := collect(cons.FetchNoWait(n))
	if err != nil || len(msgs) > 0 || ctx.Err() != nil {
		return msgs, err
	}
	return collect(cons.Fetch(1, jetstream.FetchMaxWait(time.Second)))
}

// waitSlot waits for a free slot for the first of waiting, telling the
// server every third of AckWait that the jobs of every waiting unit are in
// hand. At shutdown it gives those jobs back (Nak) and reports false.
func (c *Consumer) waitSlot(ctx context.Context, slots chan struct{}, waiting [][]jetstream.Msg) bool {
	tick := time.NewTicker(AckWait / 3)
	defer tick.Stop()
	for {
		select {
		case slots <- struct{}{}:
			return true
		case <-tick.C:
			for _, unit := range waiting {
				for _, m := range unit {
					_ = m.InProgress()
				}
			}
		case <-ctx.Done():
			for _, unit := range waiting {
				for _, m := range unit {
					_ = m.Nak()
				}
			}
			return false
		}
	}
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
// at once, with err as its last error.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

// Unavailable marks err as an outage of something the job needs (the
// object store not answering): the job is not at fault, so it is retried
// at the backoff's pace for as long as the outage lasts and never moved to
// the dead letters for it, whatever its delivery count.
func Unavailable(err error) error { return unavailableError{err} }

// IsUnavailable reports whether err was marked with Unavailable.
func IsUnavailable(err error) bool {
	var u unavailableError
	return errors.As(err, &u)
}

type unavailableError struct{ err error }

func (e unavailableError) Error() string { return e.err.Error() }
func (e unavailableError) Unwrap() error { return e.err }

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
	var outage unavailableError
	switch {
	case errors.As(err, &perm):
		n = max(n, MaxDeliver) // no retry can fix it: dead letters at once
	case errors.As(err, &outage) || (c.Outage != nil && c.Outage(err)):
		c.Logger.Warn("job waits for an outage to end; retrying", "kind", j.Kind(), "id", j.ID, "delivery", n, "err", err)
		_ = msg.NakWithDelay(Backoff(int(n)))
		return "retry"
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
// publish of the same burial is dropped but a job that dies again after it
// was published anew is buried again.
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
