// Package jobs is the work queue of site on JetStream: the streams, the
// subjects, a non-blocking publisher for the web role and the pull-consumer
// loop of the worker role, with the exactly-once recipe of docs/architecture.md.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream and consumer names.
const (
	// StreamJobs is the work-queue stream every job goes through.
	StreamJobs = "JOBS"
	// StreamDead keeps, for 30 days, the jobs that failed MaxDeliver times
	// or failed for good (Permanent), each with its last error.
	StreamDead = "JOBS_DEAD"
	// StreamEvents keeps the events of the last 15 minutes (events.>).
	StreamEvents = "EVENTS"
	// ConsumerWorker is the durable pull consumer the worker role shares.
	ConsumerWorker = "worker"
)

// Subjects of job kinds; a job's kind is the last token.
const (
	SubjectPrefix   = "jobs."
	SubjectPageView = "jobs.pageview"
	SubjectImage    = "jobs.image"
	SubjectNotify   = "jobs.notify"
	SubjectAlert    = "jobs.alert"
	// DeadPrefix prefixes the subject of a dead job: dead.jobs.pageview.
	DeadPrefix = "dead."
)

// Delivery policy of the worker consumer.
const (
	// MaxDeliver is how many times a job is tried before it is dead. The
	// consumer itself redelivers without limit, so that a job whose last
	// delivery timed out (a worker killed mid-job) comes back once more and
	// is moved to the dead letters by the worker, never left stuck in JOBS.
	MaxDeliver = 5
	// AckWait is how long a delivery may go unacknowledged before the server
	// sends it again (a worker killed mid-job is noticed after this).
	AckWait = 10 * time.Second
	// DuplicateWindow is how long the stream remembers Nats-Msg-Id values.
	DuplicateWindow = 10 * time.Minute
)

// JobsMaxBytes is the most the JOBS stream holds (a burst beyond it is
// refused to its publishers, who keep it in their buffers); on a disk too
// small for it, EnsureStreams halves it until it fits, down to 8 MiB.
const JobsMaxBytes = 1 << 30

const (
	jobsMinBytes = 8 << 20
	// errInsufficientStorage is JetStream's "insufficient storage
	// resources available" (more reserved than the store offers).
	errInsufficientStorage jetstream.ErrorCode = 10047
)

// Backoff is the delay before the n-th retry of a failed job (n from 1).
func Backoff(n int) time.Duration {
	steps := []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	if n < 1 {
		n = 1
	}
	if n > len(steps) {
		return steps[len(steps)-1]
	}
	return steps[n-1]
}

// EnsureStreams creates or updates the streams and the worker consumer; it
// is safe to run at every start, from every process.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	streams := []jetstream.StreamConfig{{
		Name:        StreamJobs,
		Description: "work queue: one message per job, removed once acknowledged",
		Subjects:    []string{SubjectPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  DuplicateWindow,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    JobsMaxBytes,
	}, {
		Name:        StreamDead,
		Description: "jobs that failed every delivery or failed for good, with their last error (header Site-Error)",
		Subjects:    []string{DeadPrefix + SubjectPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      30 * 24 * time.Hour,
	}, {
		Name:        StreamEvents,
		Description: "the events of the last 15 minutes",
		Subjects:    []string{"events.>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      15 * time.Minute,
		MaxMsgs:     100_000,
	}}
	for _, cfg := range streams {
		for {
			_, err := js.CreateOrUpdateStream(ctx, cfg)
			if err == nil {
				break
			}
			// JetStream offers 75% of the disk's free space: on a small
			// disk the work queue takes what fits rather than not start.
			var api *jetstream.APIError
			if cfg.MaxBytes > jobsMinBytes && errors.As(err, &api) && api.ErrorCode == errInsufficientStorage {
				cfg.MaxBytes /= 2
				continue
			}
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	_, err := js.CreateOrUpdateConsumer(ctx, StreamJobs, jetstream.ConsumerConfig{
		Durable:       ConsumerWorker,
		Description:   "worker role",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       AckWait,
		MaxDeliver:    -1,
		FilterSubject: SubjectPrefix + ">",
		MaxAckPending: 10_000,
	})
	if err != nil {
		return fmt.Errorf("consumer %s: %w", ConsumerWorker, err)
	}
	return nil
}
