package live

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// setup is what a stream writes before it goes live: Hello, its reader
// count, and the stored events it missed.
type setup struct {
	spec     Spec
	subjects []string
	resume   bool   // the request had Last-Event-ID
	last     uint64 // its value
}

// sseHeaders are the headers of every stream, over the shell's own.
var sseHeaders = [][2]string{
	{"Content-Type", "text/event-stream"},
	{"Cache-Control", "no-store"},
	{"X-Accel-Buffering", "no"},
}

// serveHijacked writes the stream's start on the connection taken over
// from net/http, then leaves it to the poller and the writers: no
// goroutine stays with it.
func (h *Hub) serveHijacked(header http.Header, r *http.Request, conn net.Conn, s *stream, st setup) {
	_ = conn.SetDeadline(time.Time{}) // the server's read and write timeouts stay on a hijacked conn
	if err := h.attach(s, conn); err != nil {
		s.close(cutDead)
		h.log.Debug("live: attach", "err", err)
		return
	}
	write := func(p []byte) error {
		if err := conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			return err
		}
		_, err := conn.Write(p)
		return err
	}
	head := responseHead(header)
	if err := h.start(r.Context(), s, st, head, write); err != nil {
		s.close(writeReason(err))
		return
	}
	_ = conn.SetWriteDeadline(time.Time{})
	s.goLive()
}

// attach gives a hijacked connection to the stream and to the poller;
// a stream closed meanwhile closes it.
func (h *Hub) attach(s *stream, conn net.Conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		_ = conn.Close()
		return errClosed
	}
	s.conn = conn
	if err := h.poller.add(s, conn); err != nil {
		s.conn = nil
		_ = conn.Close()
		return err
	}
	return nil
}

// flushSink is the goroutine that writes a stream which could not be
// hijacked (HTTP/2): the same queue, written by its own goroutine.
type flushSink struct {
	wake chan struct{}
	done chan struct{}
}

// serveFlushing is the stream over a connection that cannot be taken over
// (HTTP/2): one goroutine, the handler's, writes it and flushes.
func (h *Hub) serveFlushing(w http.ResponseWriter, r *http.Request, s *stream, st setup) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	sink := &flushSink{wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return
	}
	s.sink = sink
	s.mu.Unlock()
	for _, kv := range sseHeaders {
		w.Header().Set(kv[0], kv[1])
	}
	w.Header().Del("Content-Length")
	write := func(p []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
		return rc.Flush()
	}
	w.WriteHeader(http.StatusOK)
	if err := h.start(r.Context(), s, st, nil, write); err != nil {
		s.close(writeReason(err))
		return
	}
	s.goLive()
	for {
		select {
		case <-sink.done:
			return
		case <-r.Context().Done():
			s.close(cutDead)
			return
		case <-sink.wake:
		}
		s.mu.Lock()
		buf, cut := s.pending, s.cut
		s.pending = nil
		s.mu.Unlock()
		if cut != "" {
			s.close(cut)
			return
		}
		if len(buf) == 0 {
			continue
		}
		if err := write(buf); err != nil {
			s.close(writeReason(err))
			return
		}
	}
}

// start writes, in order, the response head (if any), "retry:", the Hello
// events, the post's reader count and the stored events the stream
// missed.
func (h *Hub) start(ctx context.Context, s *stream, st setup, head []byte, write func([]byte) error) error {
	b := head
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, h.cfg.Retry.Milliseconds(), 10)
	b = append(b, "\n\n"...)
	if st.spec.Hello != nil {
		for _, e := range st.spec.Hello() {
			b = append(b, encode(e)...)
		}
	}
	if s.reader != "" {
		b = append(b, readersFrame(s.reader, h.Readers(s.reader))...)
	}
	if err := write(b); err != nil {
		return err
	}
	if len(st.subjects) == 0 || (!st.resume && st.spec.Since <= 0) {
		return nil
	}
	last, err := h.replay(ctx, s, st, write)
	if err != nil {
		if errors.Is(err, errWrite) {
			return err
		}
		// The stream goes on without what it missed: the browser has the
		// events it had, and gets the live ones.
		h.log.Warn("live: replay", "subjects", st.subjects, "err", err)
	}
	s.mu.Lock()
	s.lastID = max(s.lastID, last)
	s.mu.Unlock()
	return nil
}

// goLive ends the setup: the events held meanwhile that are newer than
// the last written are queued, and from now on events go straight to the
// writers.
func (s *stream) goLive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setup = false
	held := s.held
	s.held, s.heldBytes = nil, 0
	for _, e := range held {
		if s.cut != "" {
			break
		}
		if e.id != 0 {
			if e.id <= s.lastID {
				continue
			}
			s.lastID = e.id
		}
		s.appendLocked(e.frame)
	}
	if s.cut != "" {
		s.scheduleLocked()
	}
}

// responseHead is the HTTP/1.1 head of a hijacked stream: the headers the
// shell set (security headers), with the stream's own over them. The body
// is neither chunked nor sized: it ends when the connection closes.
func responseHead(header http.Header) []byte {
	b := make([]byte, 0, 1024)
	b = append(b, "HTTP/1.1 200 OK\r\n"...)
	own := map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Date": true}
	for _, kv := range sseHeaders {
		own[kv[0]] = true
		b = appendHeader(b, kv[0], kv[1])
	}
	for k, vs := range header {
		if own[http.CanonicalHeaderKey(k)] {
			continue
		}
		for _, v := range vs {
			b = appendHeader(b, k, v)
		}
	}
	b = appendHeader(b, "Date", time.Now().UTC().Format(http.TimeFormat))
	b = appendHeader(b, "Connection", "close")
	return append(b, "\r\n"...)
}

func appendHeader(b []byte, k, v string) []byte {
	b = appendLine(b, []byte(k))
	b = append(b, ": "...)
	b = appendLine(b, []byte(strings.TrimSpace(v)))
	return append(b, "\r\n"...)
}

// readersFrame is the "readers" event of one post.
func readersFrame(post string, n int) []byte {
	data, _ := json.Marshal(struct {
		Post  string `json:"post"`
		Count int    `json:"count"`
	}{post, n})
	return encode(Event{Name: "readers", Data: data})
}

var (
	// errClosed says the hub or the stream closed meanwhile.
	errClosed = errors.New("live: closed")
	// errWrite wraps a failed write to the client during the replay.
	errWrite = errors.New("live: write to client")
)

// writeReason is the cut-off reason of a failed write: a timeout means a
// client that does not read, anything else one that went away.
func writeReason(err error) string {
	if isTimeout(err) {
		return cutSlow
	}
	return cutDead
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
