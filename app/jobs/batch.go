package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
