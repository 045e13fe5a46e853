package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Job is one unit of work as it travels through the JOBS stream.
type Job struct {
	// ID is stable for the job: the stream drops a second publish with the
	// same ID and the worker records it with the job's effect.
	ID string
	// Subject is jobs.<kind>.
	Subject string
	// Data is the job's payload, JSON by convention.
	Data []byte
	// Count is how many items the job carries, e.g. the page views of a
	// batch; the publisher's buffer bound and its drop count are in items.
	// Zero counts as one.
	Count int
}

// items is the job's weight in the publisher's buffer: Count, at least one.
func (j Job) items() int64 { return int64(max(1, j.Count)) }

// Kind is the job kind: the last token of the subject.
func (j Job) Kind() string {
	for i := len(j.Subject) - 1; i >= 0; i-- {
		if j.Subject[i] == '.' {
			return j.Subject[i+1:]
		}
	}
	return j.Subject
}

// Publisher hands jobs to JetStream without making the caller wait: Enqueue
// puts the job in a bounded buffer, and one goroutine publishes from it,
// retrying while NATS is unreachable. A job that finds the buffer full is
// dropped and handed to OnDrop. The bound is in items (Job.Count), so a
// batch of 200 page views weighs 200.
//
// Publishes are asynchronous with a window of jobs awaiting the stream's
// ack: it starts at one, doubles with each ack up to Window, and falls back
// to one on a failure, when the failed job is retried alone until the
// stream takes it. So a healthy stream sees a pipeline, and an unreachable
// one holds a single job in hand while the rest wait in the buffer.
type Publisher struct {
	// Buffer is the number of items (see Job.Count) that may wait for NATS;
	// at most maxQueuedJobs jobs wait, however few items they carry.
	Buffer int
	// Window is the most jobs awaiting the stream's ack at once.
	Window int
	// Logger receives publish failures.
	Logger *slog.Logger
	// OnDrop, when set, is called for each job dropped: on a full buffer,
	// or too large for the server.
	OnDrop func(Job)
	// OnPublish, when set, is called for each job the stream accepted.
	OnPublish func(Job)

	js     jetstream.JetStream
	queue  chan Job
	done   chan struct{}
	stop   context.CancelFunc
	mu     sync.RWMutex // guards closed against Enqueue racing Close
	closed bool
	held   atomic.Int64 // items in queue
	gaveUp atomic.Int64 // items in hand when a timed-out Close stopped the retries
}

// maxQueuedJobs bounds the jobs waiting in the buffer whatever their
// items, so that a large Buffer costs no memory until it is used.
const maxQueuedJobs = 16384

// NewPublisher returns a Publisher for js with defaults set; call Open.
func NewPublisher(js jetstream.JetStream) *Publisher {
	return &Publisher{js: js, Buffer: 10_000, Window: 512, Logger: slog.Default()}
}

// Open starts the publishing goroutine.
func (p *Publisher) Open() {
	p.queue = make(chan Job, min(p.Buffer, maxQueuedJobs))
	p.done = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go p.run(ctx)
}

// Enqueue buffers a job for publishing and reports whether it fit. After
// Close it drops the job.
func (p *Publisher) Enqueue(j Job) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	n := j.items()
	if !p.closed {
		if p.held.Add(n) <= int64(p.Buffer) {
			select {
			case p.queue <- j:
				return true
			default: // maxQueuedJobs jobs of few items each
			}
		}
		p.held.Add(-n)
	}
	if p.OnDrop != nil {
		p.OnDrop(j)
	}
	return false
}

// Pending is the number of items waiting in the buffer.
func (p *Publisher) Pending() int { return int(p.held.Load()) }

// Close stops taking jobs and publishes what is buffered, giving up when
// ctx ends; it reports how many items were left unpublished.
func (p *Publisher) Close(ctx context.Context) (int, error) {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return 0, nil
	case <-ctx.Done():
		p.stop()
		<-p.done
		return p.Pending() + int(p.gaveUp.Load()), ctx.Err()
	}
}

// inFlight is a job published asynchronously, awaiting its ack.
type inFlight struct {
	job Job
	fut jetstream.PubAckFuture
	err error
}

// window bounds the jobs in flight; see Publisher.
type window struct {
	mu          sync.Mutex
	used, limit int
	max         int
	wake        chan struct{}
}

func (w *window) acquire(ctx context.Context) bool {
	for {
		w.mu.Lock()
		if w.used < w.limit {
			w.used++
			w.mu.Unlock()
			return true
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-ctx.Done():
			return false
		}
	}
}

// release frees a place after an ack; ok grows the window, !ok shrinks it.
func (w *window) release(ok bool) {
	w.mu.Lock()
	w.used--
	if ok {
		w.limit = min(w.limit*2, w.max)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *window) shrink() {
	w.mu.Lock()
	w.limit = 1
	w.mu.Unlock()
}

// asyncAckWait bounds the wait for an asynchronous publish's ack before the
// job is published again (the stream drops the copy by its id).
const asyncAckWait = 5 * time.Second

func (p *Publisher) run(ctx context.Context) {
	defer close(p.done)
	win := &window{limit: 1, max: max(1, p.Window), wake: make(chan struct{}, 1)}
	pending := make(chan inFlight, win.max)
	confirmed := make(chan struct{})
	go func() {
		defer close(confirmed)
		p.confirm(ctx, win, pending)
	}()
	defer func() { close(pending); <-confirmed }()
	for {
		// A place in the window first, so that while NATS is away the jobs
		// wait in the buffer, where Pending counts them.
		if !win.acquire(ctx) {
			return
		}
		var j Job
		select {
		case job, ok := <-p.queue:
			if !ok {
				return
			}
			p.held.Add(-job.items())
			j = job
		case <-ctx.Done():
			return
		}
		fut, err := p.js.PublishMsgAsync(p.msg(j))
		pending <- inFlight{job: j, fut: fut, err: err}
	}
}

// confirm waits for each job's ack in order; a job that failed is retried
// alone, synchronously, with a growing pause, until it is taken or ctx ends.
func (p *Publisher) confirm(ctx context.Context, win *window, pending <-chan inFlight) {
	timer := time.NewTimer(asyncAckWait)
	defer timer.Stop()
	for f := range pending {
		err := f.err
		if err == nil {
			timer.Reset(asyncAckWait)
			select {
			case <-f.fut.Ok():
			case err = <-f.fut.Err():
			case <-timer.C:
				err = errors.New("no ack within " + asyncAckWait.String())
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err == nil {
			if p.OnPublish != nil {
				p.OnPublish(f.job)
			}
			win.release(true)
			continue
		}
		if tooLarge(err) {
			p.dropUnpublishable(f.job, err)
			win.release(true)
			continue
		}
		win.shrink()
		if !p.retry(ctx, f.job, err) {
			p.gaveUp.Add(f.job.items())
			win.release(false)
			continue
		}
		win.release(false)
	}
}

// tooLarge reports an error that no retry can cure: the job is larger than
// the server takes.
func tooLarge(err error) bool { return errors.Is(err, nats.ErrMaxPayload) }

// dropUnpublishable drops a job the server will never take (OnDrop), so
// that it does not hold up the jobs behind it.
func (p *Publisher) dropUnpublishable(j Job, err error) {
	p.Logger.Error("job too large to publish; dropped", "subject", j.Subject, "id", j.ID, "bytes", len(j.Data), "err", err)
	if p.OnDrop != nil {
		p.OnDrop(j)
	}
}

// retry publishes j synchronously until the stream takes it (or it turns
// out too large, when it is dropped); false when ctx ended first.
func (p *Publisher) retry(ctx context.Context, j Job, first error) bool {
	err := first
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return false
		}
		if attempt == 1 || attempt%20 == 0 {
			p.Logger.Warn("publish job; retrying", "subject", j.Subject, "id", j.ID, "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second)):
		}
		if err = p.publish(ctx, j); err == nil {
			return true
		}
		if tooLarge(err) {
			p.dropUnpublishable(j, err)
			return true
		}
	}
}

func (p *Publisher) msg(j Job) *nats.Msg { return message(j) }

// message is j as a NATS message whose Nats-Msg-Id is the job's id, so
// the stream stores a job published twice once.
func message(j Job) *nats.Msg {
	msg := &nats.Msg{Subject: j.Subject, Data: j.Data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, j.ID)
	return msg
}

// Publish stores one job in the stream now and returns when the stream
// acknowledged it (5 s at most): for a job someone waits on, such as a
// sign-in code or an upload's image job, where the Publisher's buffer
// would hide a failure. A repeated id is stored once.
func Publish(ctx context.Context, js jetstream.JetStream, j Job) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(pctx, message(j)); err != nil {
		return fmt.Errorf("publish %s job: %w", j.Kind(), err)
	}
	return nil
}

func (p *Publisher) publish(ctx context.Context, j Job) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := p.js.PublishMsg(pctx, p.msg(j))
	if err != nil {
		return err
	}
	if ack == nil {
		return errors.New("no ack")
	}
	if p.OnPublish != nil {
		p.OnPublish(j)
	}
	return nil
}
