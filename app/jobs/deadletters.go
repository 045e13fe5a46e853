package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers a dead letter carries besides the job's own (see Consumer.bury).
const (
	// HeaderJobID is the id of the job a dead letter holds.
	HeaderJobID = "Site-Job-Id"
	// HeaderError is the job's last error.
	HeaderError = "Site-Error"
)

// KindCount is the number of jobs of one kind waiting in JOBS.
type KindCount struct {
	Kind string
	// Subject is the kind's subject, jobs.<kind>.
	Subject string
	// Messages counts the jobs of the kind in the stream: not yet delivered,
	// in a worker's hands, or waiting for a retry.
	Messages uint64
}

// QueueState is where the work queue stands.
type QueueState struct {
	// Kinds are the jobs in JOBS per kind, by subject.
	Kinds []KindCount
	// Total is every job in JOBS.
	Total uint64
	// NotDelivered counts the jobs the worker consumer has not yet handed
	// out; InHand those handed out and not yet acknowledged (running, or
	// waiting for a retry); Redelivered those handed out more than once.
	NotDelivered uint64
	InHand       int
	Redelivered  int
	// Dead is the number of jobs in the dead letters.
	Dead uint64
}

// Queue reads the state of JOBS, of the worker consumer and the number of
// dead letters.
func Queue(ctx context.Context, js jetstream.JetStream) (QueueState, error) {
	var q QueueState
	st, err := js.Stream(ctx, StreamJobs)
	if err != nil {
		return q, fmt.Errorf("jobs: stream %s: %w", StreamJobs, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(SubjectPrefix+">"))
	if err != nil {
		return q, fmt.Errorf("jobs: stream %s: %w", StreamJobs, err)
	}
	q.Total = info.State.Msgs
	for subject, n := range info.State.Subjects {
		q.Kinds = append(q.Kinds, KindCount{Kind: Job{Subject: subject}.Kind(), Subject: subject, Messages: n})
	}
	slices.SortFunc(q.Kinds, func(a, b KindCount) int { return strings.Compare(a.Subject, b.Subject) })
	cons, err := st.Consumer(ctx, ConsumerWorker)
	if err != nil {
		return q, fmt.Errorf("jobs: consumer %s: %w", ConsumerWorker, err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return q, fmt.Errorf("jobs: consumer %s: %w", ConsumerWorker, err)
	}
	q.NotDelivered, q.InHand, q.Redelivered = ci.NumPending, ci.NumAckPending, ci.NumRedelivered
	dead, err := js.Stream(ctx, StreamDead)
	if err != nil {
		return q, fmt.Errorf("jobs: stream %s: %w", StreamDead, err)
	}
	di, err := dead.Info(ctx)
	if err != nil {
		return q, fmt.Errorf("jobs: stream %s: %w", StreamDead, err)
	}
	q.Dead = di.State.Msgs
	return q, nil
}

// DeadLetter is a job in the dead-letter stream.
type DeadLetter struct {
	// Seq is its sequence in JOBS_DEAD, which names it for retry and discard.
	Seq uint64
	// Kind and Subject are the job's (jobs.<kind>), ID its id.
	Kind, Subject, ID string
	// Error is the job's last error.
	Error string
	// Time is when it was buried.
	Time time.Time
	// Data is the job's payload.
	Data []byte
}

// ErrNoDeadLetter is returned for a sequence JOBS_DEAD does not hold (it
// was retried or discarded meanwhile, or aged out).
var ErrNoDeadLetter = errors.New("no such dead letter")

// deadLetterOf reads a message of JOBS_DEAD.
func deadLetterOf(m *jetstream.RawStreamMsg) DeadLetter {
	subject := strings.TrimPrefix(m.Subject, DeadPrefix)
	return DeadLetter{Seq: m.Sequence, Subject: subject, Kind: Job{Subject: subject}.Kind(),
		ID: m.Header.Get(HeaderJobID), Error: m.Header.Get(HeaderError), Time: m.Time, Data: m.Data}
}

// DeadLetters lists up to limit dead letters, oldest first, from sequence
// after+1 on; a caller pages with the last Seq it got.
func DeadLetters(ctx context.Context, js jetstream.JetStream, after uint64, limit int) ([]DeadLetter, error) {
	st, err := js.Stream(ctx, StreamDead)
	if err != nil {
		return nil, fmt.Errorf("jobs: stream %s: %w", StreamDead, err)
	}
	var out []DeadLetter
	for seq := after + 1; len(out) < limit; {
		// The next message at or after seq on any dead subject.
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(DeadPrefix+SubjectPrefix+">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("jobs: read dead letters: %w", err)
		}
		out = append(out, deadLetterOf(m))
		seq = m.Sequence + 1
	}
	return out, nil
}

// deadLetter reads one dead letter by its sequence.
func deadLetter(ctx context.Context, st jetstream.Stream, seq uint64) (DeadLetter, error) {
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadLetter{}, fmt.Errorf("dead letter %d: %w", seq, ErrNoDeadLetter)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("jobs: read dead letter %d: %w", seq, err)
	}
	if !strings.HasPrefix(m.Subject, DeadPrefix+SubjectPrefix) {
		return DeadLetter{}, fmt.Errorf("dead letter %d: %w", seq, ErrNoDeadLetter)
	}
	return deadLetterOf(m), nil
}

// TooSoonError is returned by RetryDead while JOBS still remembers the
// job's id (its duplicate window runs from the job's first publish): a
// publish now would be dropped as a duplicate, so nothing was done.
type TooSoonError struct {
	ID string
	// After is when a retry will surely be taken: the burial plus the
	// window (the first publish came before the burial).
	After time.Time
}

func (e *TooSoonError) Error() string {
	return fmt.Sprintf("job %s: the JOBS stream still remembers its id from its first publish (duplicate window %s); retry after %s",
		e.ID, DuplicateWindow, e.After.UTC().Format("15:04:05 MST"))
}

// RetryDead publishes the dead letter seq again to its job's subject with
// the job's id, then deletes it from the dead letters; it returns the job.
// While JOBS's duplicate window still holds the id it does nothing and
// returns a *TooSoonError.
func RetryDead(ctx context.Context, js jetstream.JetStream, seq uint64) (DeadLetter, error) {
	st, err := js.Stream(ctx, StreamDead)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("jobs: stream %s: %w", StreamDead, err)
	}
	d, err := deadLetter(ctx, st, seq)
	if err != nil {
		return DeadLetter{}, err
	}
	id := d.ID
	if id == "" {
		id = fmt.Sprintf("dead-%d", seq)
	}
	msg := &nats.Msg{Subject: d.Subject, Data: d.Data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return d, fmt.Errorf("jobs: retry dead letter %d: %w", seq, err)
	}
	if ack.Duplicate {
		return d, &TooSoonError{ID: id, After: d.Time.Add(DuplicateWindow)}
	}
	if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		// The job is queued again; the stale dead letter, retried once
		// more, is dropped as a duplicate while the window lasts.
		return d, fmt.Errorf("jobs: job %s queued again, but deleting its dead letter %d failed: %w", id, seq, err)
	}
	return d, nil
}

// DiscardDead deletes the dead letter seq and returns what it held.
func DiscardDead(ctx context.Context, js jetstream.JetStream, seq uint64) (DeadLetter, error) {
	st, err := js.Stream(ctx, StreamDead)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("jobs: stream %s: %w", StreamDead, err)
	}
	d, err := deadLetter(ctx, st, seq)
	if err != nil {
		return DeadLetter{}, err
	}
	if err := st.DeleteMsg(ctx, seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return d, fmt.Errorf("dead letter %d: %w", seq, ErrNoDeadLetter)
		}
		return d, fmt.Errorf("jobs: discard dead letter %d: %w", seq, err)
	}
	return d, nil
}
