package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BatchHandler does many jobs of one kind at once. Like Handler it must be
// idempotent per job: record each job's id in the same transaction as its
// effect and skip ids already recorded. An error makes every job of the
// batch retry, except a JobErrors, which fails only the jobs it names.
type BatchHandler func(ctx context.Context, jobs []Job) error

// JobErrors is what a BatchHandler returns when it did every job of the
// batch but some: those, by job id, fail with their own error (retried, or
// dead at once when Permanent), and the rest are done.
type JobErrors map[string]error

// Error names the failed jobs.
func (e JobErrors) Error() string {
	ids := make([]string, 0, len(e))
	for id := range e {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return fmt.Sprintf("%d jobs of the batch failed: %s", len(e), strings.Join(ids, ", "))
}

// runBatched is Run when some kinds are done in batches. It fetches what the
// stream has, up to BatchSize, whenever a slot is free; the jobs of a batch
// kind become one unit of work, every other job a unit of its own, and each
// unit takes a slot. A unit waiting for a slot tells the server it is in
// progress, so the wait does not count against AckWait.
func (c *Consumer) runBatched(ctx context.Context, cons jetstream.Consumer) error {
	size := max(1, c.BatchSize)
	slots := make(chan struct{}, c.Concurrency)
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
		for i, unit := range units {
			hasSlot := i == 0 // the slot taken before fetching
			wg.Go(func() {
				if !hasSlot && !c.waitSlot(ctx, slots, unit) {
					return
				}
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

// waitSlot waits for a free slot, telling the server every third of
// AckWait that the unit's jobs are in hand. At shutdown it gives the jobs
// back (Nak) and reports false.
func (c *Consumer) waitSlot(ctx context.Context, slots chan struct{}, unit []jetstream.Msg) bool {
	tick := time.NewTicker(AckWait / 3)
	defer tick.Stop()
	for {
		select {
		case slots <- struct{}{}:
			return true
		case <-tick.C:
			for _, m := range unit {
				_ = m.InProgress()
			}
		case <-ctx.Done():
			for _, m := range unit {
				_ = m.Nak()
			}
			return false
		}
	}
}

// handleBatch runs a batch handler over unit and finishes every job with
// the batch's outcome.
func (c *Consumer) handleBatch(ctx context.Context, h BatchHandler, unit []jetstream.Msg) {
	start := time.Now()
	js := make([]Job, len(unit))
	for i, m := range unit {
		js[i] = jobOf(m)
	}
	err := h(ctx, js)
	outcomes := make([]string, len(unit))
	var failed JobErrors
	switch {
	case errors.As(err, &failed):
		for i, m := range unit {
			outcomes[i] = c.finish(ctx, m, js[i], failed[js[i].ID])
		}
	case err == nil:
		// Plain acks for all but the last job, then a confirmed ack of the
		// last: the server handles a connection's acks of a consumer in
		// order, so its confirmation covers the batch, for one round trip
		// instead of one per job. A lost ack is a redelivery, which the
		// recorded ids absorb.
		last := len(unit) - 1
		for i, m := range unit[:last] {
			if aerr := m.Ack(); aerr != nil {
				c.Logger.Warn("ack job", "kind", js[i].Kind(), "id", js[i].ID, "err", aerr)
			}
			outcomes[i] = "ok"
		}
		outcomes[last] = c.finish(ctx, unit[last], js[last], nil)
	default:
		for i, m := range unit {
			outcomes[i] = c.finish(ctx, m, js[i], err)
		}
	}
	if c.OnDone != nil {
		took := time.Since(start)
		for i, j := range js {
			c.OnDone(j.Kind(), outcomes[i], took)
		}
	}
}
