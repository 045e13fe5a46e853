package jobs

import (
	"context"
	"errors"
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
}

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
// dropped and counted.
type Publisher struct {
	// Buffer is the number of jobs that may wait for NATS.
	Buffer int
	// Logger receives publish failures.
	Logger *slog.Logger
	// OnDrop, when set, is called for each job dropped on a full buffer.
	OnDrop func(Job)
	// OnPublish, when set, is called for each job the stream accepted.
	OnPublish func(Job)

	js      jetstream.JetStream
	queue   chan Job
	done    chan struct{}
	stop    context.CancelFunc
	mu      sync.RWMutex // guards closed against Enqueue racing Close
	closed  bool
	dropped atomic.Int64
	gaveUp  atomic.Int64 // jobs in hand when a timed-out Close stopped the retries
}

// NewPublisher returns a Publisher for js with defaults set; call Open.
func NewPublisher(js jetstream.JetStream) *Publisher {
	return &Publisher{js: js, Buffer: 10_000, Logger: slog.Default()}
}

// Open starts the publishing goroutine.
func (p *Publisher) Open() {
	p.queue = make(chan Job, p.Buffer)
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
	if p.closed {
		p.dropped.Add(1)
		if p.OnDrop != nil {
			p.OnDrop(j)
		}
		return false
	}
	select {
	case p.queue <- j:
		return true
	default:
		p.dropped.Add(1)
		if p.OnDrop != nil {
			p.OnDrop(j)
		}
		return false
	}
}

// Dropped is the number of jobs dropped on a full buffer so far.
func (p *Publisher) Dropped() int64 { return p.dropped.Load() }

// Pending is the number of jobs waiting in the buffer.
func (p *Publisher) Pending() int { return len(p.queue) }

// Close stops taking jobs and publishes what is buffered, giving up when
// ctx ends; it reports how many jobs were left unpublished.
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
		return len(p.queue) + int(p.gaveUp.Load()), ctx.Err()
	}
}

func (p *Publisher) run(ctx context.Context) {
	defer close(p.done)
	for j := range p.queue {
		for attempt := 1; ; attempt++ {
			err := p.publish(ctx, j)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				p.gaveUp.Add(1)
				return
			}
			if attempt == 1 || attempt%20 == 0 {
				p.Logger.Warn("publish job; retrying", "subject", j.Subject, "id", j.ID, "attempt", attempt, "err", err)
			}
			select {
			case <-ctx.Done():
				p.gaveUp.Add(1)
				return
			case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second)):
			}
		}
	}
}

func (p *Publisher) publish(ctx context.Context, j Job) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg := &nats.Msg{Subject: j.Subject, Data: j.Data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, j.ID)
	ack, err := p.js.PublishMsg(pctx, msg)
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
