package live

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"site/app/metrics"
)

// stream is one open SSE response. While it is idle it holds no goroutine
// and no buffer: pending is nil and the connection sits in the poller.
type stream struct {
	hub    *Hub
	id     uint64
	ip     string
	topics []string
	reader string
	sub    *subscription // guarded by hub.mu

	closed atomic.Bool

	mu        sync.Mutex
	conn      net.Conn        // the hijacked connection; nil before, or in flushing mode
	raw       syscall.RawConn // conn's descriptor, for writes that never block
	fd        int
	polled    bool        // fd is in the poller
	sink      *flushSink  // the goroutine writing it, in flushing mode (HTTP/2)
	setup     bool        // Serve is still writing its start; events are held
	held      []heldEvent // events that came during setup
	heldBytes int
	pending   []byte // bytes to write; nil when idle
	scheduled bool   // in the run queue or being written
	writable  bool   // the poller saw the socket writable since the last write began
	cut       string // why it must be closed, once decided where it cannot be
	lastID    uint64 // id of the last stored event written
	stuck     int64  // UnixNano since when bytes could not be sent; 0 when they could
}

// heldEvent is an event that came while the stream was being set up.
type heldEvent struct {
	id    uint64
	frame []byte
}

// deliver queues an encoded event for the stream; a stored event (id > 0)
// goes out only if it is newer than the last one written.
func (s *stream) deliver(frame []byte, id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut != "" || s.closed.Load() {
		return
	}
	if s.setup {
		s.held = append(s.held, heldEvent{id, frame})
		if s.heldBytes += len(frame); s.heldBytes > lagFactor*s.hub.cfg.MaxBuffer {
			s.cutLocked(cutSlow)
		}
		return
	}
	if id != 0 {
		if id <= s.lastID {
			return
		}
		s.lastID = id
	}
	s.appendLocked(frame)
}

// lagFactor bounds the bytes waiting for a stream whose client does take
// them but whose writer has not had its turn yet (a burst of events on a
// busy machine): lagFactor × MaxBuffer.
const lagFactor = 4

// appendLocked queues bytes and schedules a write; a stream with too much
// waiting is cut off (overLocked). frame is never written to: while
// nothing else waits, pending is frame itself (its capacity clipped, so
// that a later append copies).
func (s *stream) appendLocked(frame []byte) {
	if len(s.pending) == 0 {
		s.pending = frame[:len(frame):len(frame)]
	} else {
		s.pending = append(s.pending, frame...)
	}
	if s.overLocked() {
		s.cutLocked(cutSlow)
		return
	}
	s.scheduleLocked()
}

// overLocked reports a stream with more waiting than it may have: over
// MaxBuffer while its client's socket is full (the client does not keep
// up), or over lagFactor × MaxBuffer in any case.
func (s *stream) overLocked() bool {
	n, limit := len(s.pending), s.hub.cfg.MaxBuffer
	return n > lagFactor*limit || (n > limit && s.stuck != 0)
}

// cutLocked marks the stream to be closed by a writer (the caller may hold
// locks that closing takes).
func (s *stream) cutLocked(reason string) {
	if s.cut == "" {
		s.cut = reason
		s.pending, s.held = nil, nil
	}
	s.scheduleLocked()
}

// scheduleLocked hands the stream to a writer unless one has it already.
func (s *stream) scheduleLocked() {
	if s.sink != nil {
		select {
		case s.sink.wake <- struct{}{}:
		default:
		}
		return
	}
	if s.scheduled {
		return
	}
	s.scheduled = true
	s.hub.queue.push(s)
}

// tick is the maintenance of one stream: a heartbeat when beat is set,
// and a cut-off when its bytes have waited since before stuckBefore.
func (s *stream) tick(beat bool, heartbeat []byte, stuckBefore int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.setup || s.cut != "" || s.closed.Load() {
		return
	}
	if s.stuck != 0 && s.stuck < stuckBefore {
		s.cutLocked(cutSlow)
		return
	}
	if beat {
		s.appendLocked(heartbeat)
	}
}

// outReady is the poller's news that the socket can take bytes again.
func (s *stream) outReady() {
	s.mu.Lock()
	s.writable = true
	if len(s.pending) > 0 && !s.scheduled {
		s.scheduleLocked()
	}
	s.mu.Unlock()
}

// flush is a writer's turn on a scheduled stream: it writes what is
// pending without waiting for a slow socket, and closes a stream that was
// cut off or whose write failed.
func (h *Hub) flush(s *stream) {
	s.mu.Lock()
	if s.cut != "" {
		reason := s.cut
		s.mu.Unlock()
		s.close(reason)
		return
	}
	if s.closed.Load() || s.setup || len(s.pending) == 0 {
		s.scheduled = false
		s.mu.Unlock()
		return
	}
	buf := s.pending
	s.pending = nil
	s.writable = false
	s.mu.Unlock() // scheduled stays set: deliver only appends meanwhile

	n, again, err := writeSome(s, buf)
	if err != nil {
		reason := cutDead
		if isTimeout(err) {
			reason = cutSlow
		}
		s.close(reason)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut != "" || s.closed.Load() {
		s.scheduled = true
		h.queue.push(s) // to be closed by a writer
		return
	}
	if n < len(buf) {
		rest := buf[n:len(buf):len(buf)]
		if len(s.pending) > 0 {
			rest = append(rest, s.pending...)
		}
		s.pending = rest
		if again && s.stuck == 0 {
			s.stuck = time.Now().UnixNano()
		}
		if s.overLocked() {
			s.pending = nil
			s.cut = cutSlow
			h.queue.push(s)
			return
		}
	}
	switch {
	case len(s.pending) == 0:
		s.pending = nil
		s.scheduled = false
		s.stuck = 0
	case again && !s.writable:
		// The socket is full: the poller schedules the stream again when
		// it drains; maintain cuts it off if it never does.
		s.scheduled = false
	default:
		if !again {
			s.stuck = 0
		}
		h.queue.push(s)
	}
}

// close ends the stream once: it leaves the hub's counts, the poller and
// the connection. reason is counted in site_live_cut_total ("" for a
// stream refused before it started).
func (s *stream) close(reason string) {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	conn, polled, sink := s.conn, s.polled, s.sink
	s.pending, s.held, s.polled = nil, nil, false
	s.mu.Unlock()
	h := s.hub
	h.unregister(s)
	if polled {
		h.poller.remove(s) // before the close: the number is reused after
	}
	if conn != nil {
		_ = conn.Close()
	}
	if sink != nil {
		close(sink.done)
	}
	if reason == "" {
		return
	}
	metrics.LiveCut.WithLabelValues(reason).Inc()
	if reason == cutSlow {
		h.slowCuts.Add(1)
	}
	h.log.Debug("live: stream closed", "stream", s.id, "reason", reason)
}

// writer is one of the hub's writer goroutines.
func (h *Hub) writer() {
	for {
		s := h.queue.pop()
		if s == nil {
			return
		}
		h.flush(s)
	}
}

// runQueue is the FIFO of streams with bytes to write; a stream is in it
// at most once (stream.scheduled).
type runQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []*stream
	head   int
	closed bool
}

func (q *runQueue) init() { q.cond.L = &q.mu }

func (q *runQueue) push(s *stream) {
	q.mu.Lock()
	q.items = append(q.items, s)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a stream; nil once the queue is closed.
func (q *runQueue) pop() *stream {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	s := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
		if cap(q.items) > 4096 {
			q.items = nil // a burst's backing array is not kept
		}
	}
	return s
}

func (q *runQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// encode gives an event's bytes on the wire: "id:" for a stored event,
// "event:", and one "data:" line per line of Data, then a blank line.
func encode(e Event) []byte {
	b := make([]byte, 0, len(e.Data)+len(e.Name)+40)
	if e.ID != 0 {
		b = append(b, "id: "...)
		b = strconv.AppendUint(b, e.ID, 10)
		b = append(b, '\n')
	}
	if e.Name != "" {
		b = append(b, "event: "...)
		b = appendLine(b, []byte(e.Name))
		b = append(b, '\n')
	}
	data := e.Data
	for {
		line, rest, more := bytes.Cut(data, []byte{'\n'})
		b = append(b, "data: "...)
		b = appendLine(b, bytes.TrimSuffix(line, []byte{'\r'}))
		b = append(b, '\n')
		if !more {
			break
		}
		data = rest
	}
	return append(b, '\n')
}

// appendLine appends p without carriage returns or line feeds, which
// would end the field early.
func appendLine(b, p []byte) []byte {
	for _, c := range p {
		if c != '\r' && c != '\n' {
			b = append(b, c)
		}
	}
	return b
}
