package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// subscription is the one JetStream consumer of a set of subjects in this
// process, shared by every stream following exactly that set. It delivers
// the events stored from its start on, with their sequence in the stream.
type subscription struct {
	key      string
	subjects []string
	ready    chan struct{} // closed once started (or failed: err)
	err      error
	consumer jetstream.Consumer
	consume  jetstream.ConsumeContext
	streams  map[*stream]struct{} // guarded by hub.mu
	idle     *time.Timer          // guarded by hub.mu: stops it after the grace
}

// join adds s to the subscription of subjects, starting it if it is the
// first; it returns once the subscription delivers, so that everything
// stored after the return reaches s.
func (h *Hub) join(s *stream, key string, subjects []string) error {
	for range 3 {
		h.mu.Lock()
		if h.closed || s.closed.Load() {
			h.mu.Unlock()
			return errClosed
		}
		sub := h.subs[key]
		if sub == nil {
			sub = &subscription{key: key, subjects: subjects, ready: make(chan struct{}), streams: map[*stream]struct{}{}}
			h.subs[key] = sub
			h.mu.Unlock()
			h.startSubscription(sub)
		} else {
			h.mu.Unlock()
		}
		<-sub.ready
		if sub.err != nil {
			return sub.err
		}
		h.mu.Lock()
		if h.subs[key] == sub && !s.closed.Load() {
			sub.streams[s] = struct{}{}
			if sub.idle != nil {
				sub.idle.Stop()
				sub.idle = nil
			}
			s.sub = sub
			h.mu.Unlock()
			return nil
		}
		h.mu.Unlock() // it stopped meanwhile (its grace ran out): start another
	}
	return errors.New("live: subscription keeps stopping")
}

// startSubscription starts an ordered consumer of new events on
// sub.subjects and marks sub ready; on failure sub leaves the hub's map, so
// that the next stream tries again.
func (h *Hub) startSubscription(sub *subscription) {
	defer close(sub.ready)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Fail fast when NATS or the stream is missing: the ordered consumer
	// itself retries without end.
	_, err := h.js.Stream(ctx, h.cfg.Stream)
	var cons jetstream.Consumer
	if err == nil {
		cons, err = h.js.OrderedConsumer(ctx, h.cfg.Stream, jetstream.OrderedConsumerConfig{
			FilterSubjects:    sub.subjects,
			DeliverPolicy:     jetstream.DeliverNewPolicy,
			InactiveThreshold: 30 * time.Second,
		})
	}
	if err == nil {
		sub.consumer = cons
		sub.consume, err = cons.Consume(func(msg jetstream.Msg) { h.dispatch(sub, msg) })
	}
	if err != nil {
		sub.err = fmt.Errorf("consume %v from stream %s: %w", sub.subjects, h.cfg.Stream, err)
		h.mu.Lock()
		if h.subs[sub.key] == sub {
			delete(h.subs, sub.key)
		}
		h.mu.Unlock()
	}
}

// dispatch fans one stored event out to every stream of the subscription,
// in the order the consumer delivers them.
func (h *Hub) dispatch(sub *subscription, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	id := meta.Sequence.Stream
	frame := encode(Event{ID: id, Name: msg.Subject(), Data: msg.Data()})
	h.mu.RLock()
	for s := range sub.streams {
		s.deliver(frame, id)
	}
	h.mu.RUnlock()
}

// idleSince starts the grace after which a subscription without streams
// stops. The caller holds hub.mu.
func (sub *subscription) idleSince(h *Hub) {
	if sub.idle != nil {
		return
	}
	sub.idle = time.AfterFunc(h.grace, func() {
		h.mu.Lock()
		idle := len(sub.streams) == 0 && h.subs[sub.key] == sub
		if idle {
			delete(h.subs, sub.key)
		}
		h.mu.Unlock()
		if idle {
			sub.stop(h)
		}
	})
}

// stop ends the consumer and deletes it from the server (which would
// otherwise keep it until its inactivity threshold).
func (sub *subscription) stop(h *Hub) {
	<-sub.ready
	if sub.consume == nil {
		return
	}
	sub.consume.Stop()
	if info := sub.consumer.CachedInfo(); info != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = h.js.DeleteConsumer(ctx, h.cfg.Stream, info.Name)
		cancel()
	}
}

// replay writes to s the stored events on st.subjects that it missed: those
// after Last-Event-ID, or those of the last Since for a new stream, up to
// the stream's end at the moment (s is already registered for the live
// ones, which wait until it goes live). It returns the id of the last
// event written.
func (h *Hub) replay(ctx context.Context, s *stream, st setup, write func([]byte) error) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := h.js.Stream(ctx, h.cfg.Stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", h.cfg.Stream, err)
	}
	end := info.CachedInfo().State.LastSeq
	last := st.last
	if st.resume && last > end {
		last = 0 // an id from an earlier life of the stream: nothing to skip, nothing to replay
	}
	s.mu.Lock()
	s.lastID = last
	s.mu.Unlock()
	cfg := jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: 30 * time.Second,
		MemoryStorage:     true,
	}
	if len(st.subjects) == 1 {
		cfg.FilterSubject = st.subjects[0]
	} else {
		cfg.FilterSubjects = st.subjects
	}
	switch {
	case st.resume && (st.last > end || last >= end):
		return last, nil
	case st.resume:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = last + 1
	default:
		from := time.Now().Add(-st.spec.Since)
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &from
	}
	cons, err := h.js.CreateConsumer(ctx, h.cfg.Stream, cfg)
	if err != nil {
		return last, fmt.Errorf("replay consumer: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = h.js.DeleteConsumer(ctx, h.cfg.Stream, cons.CachedInfo().Name)
		cancel()
	}()
	// NumPending counts the matching events stored when the consumer was
	// made, which is after s joined the live ones: reading that many
	// leaves no gap.
	left := int(cons.CachedInfo().NumPending)
	var buf []byte
	written := last
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := write(buf); err != nil {
			return fmt.Errorf("%w: %w", errWrite, err)
		}
		buf, written = buf[:0], last
		return nil
	}
	for left > 0 {
		batch, err := cons.Fetch(min(left, 256), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			ferr := flush()
			return written, errors.Join(fmt.Errorf("replay fetch: %w", err), ferr)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			meta, err := msg.Metadata()
			if err != nil || meta.Sequence.Stream <= last {
				continue
			}
			last = meta.Sequence.Stream
			buf = append(buf, encode(Event{ID: last, Name: msg.Subject(), Data: msg.Data()})...)
			if len(buf) >= 32<<10 {
				if err := flush(); err != nil {
					return written, err
				}
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			ferr := flush()
			return written, errors.Join(fmt.Errorf("replay fetch: %w", err), ferr)
		}
		if got == 0 {
			break // the rest aged out of the stream meanwhile
		}
		left -= got
	}
	if err := flush(); err != nil {
		return written, err
	}
	return written, nil
}
