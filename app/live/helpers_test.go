package live

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
	"site/internal/testkit"
)

// testHub is a hub on a real NATS server with the EVENTS stream, served
// by a real HTTP server on a loopback port.
type testHub struct {
	*Hub
	broker *testkit.Broker
	nc     *nats.Conn
	js     jetstream.JetStream
	addr   string
	srv    *http.Server
}

// newBroker starts NATS with the site's streams.
func newBroker(t testing.TB) *testkit.Broker {
	t.Helper()
	b := testkit.NATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := jobs.EnsureStreams(ctx, b.JetStream); err != nil {
		t.Fatalf("ensure streams: %v", err)
	}
	return b
}

// startHub starts a hub with cfg on its own NATS connection to b and
// serves GET /s with the spec spec(r) gives.
func startHub(t testing.TB, b *testkit.Broker, cfg Config, spec func(*http.Request) Spec) *testHub {
	t.Helper()
	nc, js := b.Connect(t)
	cfg.NC, cfg.JS = nc, js
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("new hub: %v", err)
	}
	th := &testHub{Hub: h, broker: b, nc: nc, js: js}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /s", func(w http.ResponseWriter, r *http.Request) {
		// A shell-like middleware sets a security header, which the
		// hijacked response must carry.
		w.Header().Set("X-Frame-Options", "DENY")
		h.Serve(w, r, spec(r))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	th.addr = ln.Addr().String()
	// The shell's timeouts: a hijacked stream must outlive them.
	th.srv = &http.Server{Handler: mux, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second}
	go func() { _ = th.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Close(ctx)
		_ = th.srv.Shutdown(ctx)
	})
	return th
}

// publish stores an event on subject and returns its sequence.
func publish(t testing.TB, js jetstream.JetStream, subject string, data string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := js.Publish(ctx, subject, []byte(data))
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	return ack.Sequence
}

// sseEvent is one event as a client parsed it.
type sseEvent struct {
	ID   string
	Name string
	Data string
}

// sseClient reads a stream over a raw connection.
type sseClient struct {
	conn     net.Conn
	br       *bufio.Reader
	Status   int
	Header   http.Header
	Body     string // of a refusal
	Retry    string
	Comments int
	LastID   string
}

// dial opens GET /s?query with the extra headers (name, value pairs).
func dial(t testing.TB, addr, query string, headers ...string) *sseClient {
	t.Helper()
	c, err := dialErr(addr, query, nil, headers...)
	if err != nil {
		t.Fatalf("dial stream: %v", err)
	}
	t.Cleanup(func() { _ = c.conn.Close() })
	return c
}

func dialErr(addr, query string, d *net.Dialer, headers ...string) (*sseClient, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET /s?%s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n", query, addr)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&req, "%s: %s\r\n", headers[i], headers[i+1])
	}
	req.WriteString("\r\n")
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req.String()); err != nil {
		conn.Close()
		return nil, err
	}
	c := &sseClient{conn: conn, br: bufio.NewReaderSize(conn, 1024)}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read response head: %w", err)
	}
	c.Status, c.Header = resp.StatusCode, resp.Header
	if c.Status != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		c.Body = string(body)
		conn.Close()
		return c, nil
	}
	// The body of a hijacked stream is the rest of the connection; keep
	// reading from br (http.ReadResponse reads no further than the head).
	_ = conn.SetDeadline(time.Time{})
	return c, nil
}

// next reads the next event (comments and retry lines are noted, not
// returned) within timeout.
func (c *sseClient) next(timeout time.Duration) (sseEvent, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	var e sseEvent
	var data []string
	have := false
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if have {
				e.Data = strings.Join(data, "\n")
				if e.ID != "" {
					c.LastID = e.ID
				}
				return e, nil
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			c.Comments++
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "retry":
			c.Retry = value
		case "id":
			e.ID, have = value, true
		case "event":
			e.Name, have = value, true
		case "data":
			data, have = append(data, value), true
		}
	}
}

// readN reads n events.
func (c *sseClient) readN(t testing.TB, n int) []sseEvent {
	t.Helper()
	out := make([]sseEvent, 0, n)
	for len(out) < n {
		e, err := c.next(30 * time.Second)
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, e)
	}
	return out
}

// waitRetry reads until the retry line (the stream has started).
func (c *sseClient) waitRetry(t testing.TB) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for c.Retry == "" {
		line, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for retry: %v", err)
		}
		if v, ok := strings.CutPrefix(line, "retry: "); ok {
			c.Retry = strings.TrimSpace(v)
		}
	}
}

// expectEOF reads until the connection ends, failing on a timeout.
func (c *sseClient) expectEOF(timeout time.Duration) error {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	_, err := io.Copy(io.Discard, c.br)
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset by peer") {
		return nil
	}
	return err
}

func atoi(t testing.TB, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return n
}
