package live

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"site/internal/testkit"
)

// specFromQuery builds a Spec from the query: subject, topic, reader, since.
func specFromQuery(r *http.Request) Spec {
	q := r.URL.Query()
	s := Spec{Subjects: q["subject"], Topics: q["topic"], Reader: q.Get("reader")}
	if d, err := time.ParseDuration(q.Get("since")); err == nil {
		s.Since = d
	}
	return s
}

func TestFanOutOrder(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{MaxPerIP: 100}, specFromQuery)
	const streams, events = 50, 200
	clients := make([]*sseClient, streams)
	for i := range clients {
		clients[i] = dial(t, h.addr, "subject=events.test.fanout")
		clients[i].waitRetry(t)
	}
	testkit.WaitFor(t, 10*time.Second, "50 streams", func() bool { return h.Streams() == streams })
	// One consumer serves all 50.
	info, err := h.js.Stream(context.Background(), "EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Consumers; n != 1 {
		t.Errorf("EVENTS has %d consumers for 50 streams on one subject, want 1", n)
	}
	seqs := make([]uint64, events)
	for i := range events {
		seqs[i] = publish(t, h.js, "events.test.fanout", fmt.Sprintf(`{"n":%d}`, i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for ci, c := range clients {
		wg.Go(func() {
			for i := range events {
				e, err := c.next(30 * time.Second)
				if err != nil {
					errs <- fmt.Errorf("stream %d, event %d: %v", ci, i, err)
					return
				}
				want := sseEvent{ID: fmt.Sprint(seqs[i]), Name: "events.test.fanout", Data: fmt.Sprintf(`{"n":%d}`, i)}
				if e != want {
					errs <- fmt.Errorf("stream %d, event %d: got %+v, want %+v", ci, i, e, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestReplayAfterReconnect(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{}, specFromQuery)
	const total, first = 400, 60
	c := dial(t, h.addr, "subject=events.test.replay")
	c.waitRetry(t)

	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range total {
			if _, err := h.js.Publish(context.Background(), "events.test.replay", fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				t.Errorf("publish %d: %v", i, err)
				return
			}
			if i%20 == 0 {
				time.Sleep(5 * time.Millisecond) // keep publishing across the reconnect
			}
		}
	}()
	var got []int
	var ids []uint64
	take := func(e sseEvent) {
		var v struct{ N int }
		if err := json.Unmarshal([]byte(e.Data), &v); err != nil {
			t.Fatalf("data %q: %v", e.Data, err)
		}
		got = append(got, v.N)
		ids = append(ids, atoi(t, e.ID))
	}
	for _, e := range c.readN(t, first) {
		take(e)
	}
	_ = c.conn.Close()
	c2 := dial(t, h.addr, "subject=events.test.replay", "Last-Event-ID", c.LastID)
	for _, e := range c2.readN(t, total-first) {
		take(e)
	}
	<-published
	for i, n := range got {
		if n != i {
			t.Fatalf("event %d is n=%d (gap or duplicate across the reconnect at %d); got %v", i, n, first, got)
		}
		if i > 0 && ids[i] <= ids[i-1] {
			t.Fatalf("ids not increasing at %d: %d after %d", i, ids[i], ids[i-1])
		}
	}
	// Nothing more: no duplicate after the last.
	publish(t, h.js, "events.test.replay", `{"n":-1}`)
	if e, err := c2.next(10 * time.Second); err != nil || e.Data != `{"n":-1}` {
		t.Fatalf("after the replay got %+v, %v; want the next live event", e, err)
	}
}

func TestSinceAndHello(t *testing.T) {
	b := newBroker(t)
	var ids []uint64
	_, js := b.Connect(t)
	publish(t, js, "events.test.other", `{"other":true}`)
	for i := range 3 {
		ids = append(ids, publish(t, js, "events.test.since", fmt.Sprintf(`{"n":%d}`, i)))
	}
	h := startHub(t, b, Config{Retry: 1500 * time.Millisecond}, func(r *http.Request) Spec {
		s := specFromQuery(r)
		s.Hello = func() []Event {
			return []Event{{Name: "hello", Data: []byte("{\"state\":1,\n\"two\":\"lines\"}")}}
		}
		return s
	})
	c := dial(t, h.addr, "subject=events.test.since&since=1m&topic=t")
	for k, want := range map[string]string{
		"Content-Type": "text/event-stream", "Cache-Control": "no-store",
		"X-Accel-Buffering": "no", "X-Frame-Options": "DENY",
	} {
		if got := c.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if te := c.Header.Get("Transfer-Encoding"); te != "" {
		t.Errorf("Transfer-Encoding %q on a hijacked stream", te)
	}
	evs := c.readN(t, 4)
	if c.Retry != "1500" {
		t.Errorf("retry %q, want 1500", c.Retry)
	}
	if evs[0] != (sseEvent{Name: "hello", Data: "{\"state\":1,\n\"two\":\"lines\"}"}) {
		t.Errorf("first event %+v, want the Hello event (no id, two data lines)", evs[0])
	}
	for i, e := range evs[1:] {
		want := sseEvent{ID: fmt.Sprint(ids[i]), Name: "events.test.since", Data: fmt.Sprintf(`{"n":%d}`, i)}
		if e != want {
			t.Errorf("replayed %d: %+v, want %+v", i, e, want)
		}
	}
	// An unstored event has no id line, and does not reset the last id.
	h.Publish("t", Event{ID: 99, Name: "note", Data: []byte(`{"x":1}`)})
	e, err := c.next(10 * time.Second)
	if err != nil || e != (sseEvent{Name: "note", Data: `{"x":1}`}) {
		t.Errorf("topic event %+v, %v; want no id", e, err)
	}
}

func TestBadLastEventID(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{}, specFromQuery)
	c := dial(t, h.addr, "subject=events.test.x", "Last-Event-ID", "abc")
	if c.Status != http.StatusBadRequest || !strings.Contains(c.Body, "Last-Event-ID") {
		t.Errorf("Last-Event-ID abc: %d %q, want 400 saying why", c.Status, c.Body)
	}
	if h.Streams() != 0 {
		t.Errorf("%d streams after a refusal", h.Streams())
	}
	// An id from before what the stream holds (or after, from an earlier
	// life of it) is no error.
	c = dial(t, h.addr, "subject=events.test.x", "Last-Event-ID", "123456789")
	if c.Status != http.StatusOK {
		t.Errorf("Last-Event-ID past the stream's end: %d", c.Status)
	}
}

func TestHead(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{}, specFromQuery)
	resp, err := http.Head("http://" + h.addr + "/s?topic=t")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || h.Streams() != 0 {
		t.Errorf("HEAD: %d %q with %d streams, want the head of a stream and no stream", resp.StatusCode, resp.Header.Get("Content-Type"), h.Streams())
	}
}

func TestCaps(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{MaxPerIP: 2, MaxStreams: 3, ClientIP: func(r *http.Request) string {
		return r.URL.Query().Get("ip")
	}}, specFromQuery)
	open := func(ip string) *sseClient {
		c := dial(t, h.addr, "topic=t&ip="+ip)
		if c.Status == http.StatusOK {
			c.waitRetry(t)
		}
		return c
	}
	a1, a2 := open("a"), open("a")
	if a1.Status != 200 || a2.Status != 200 {
		t.Fatalf("first two from a: %d %d", a1.Status, a2.Status)
	}
	a3 := open("a")
	if a3.Status != http.StatusTooManyRequests || a3.Header.Get("Retry-After") == "" ||
		!strings.Contains(a3.Body, "Too many live streams from your address") {
		t.Errorf("third from a: %d %q Retry-After %q, want 429 with a reason and Retry-After", a3.Status, a3.Body, a3.Header.Get("Retry-After"))
	}
	if b1 := open("b"); b1.Status != 200 {
		t.Fatalf("first from b: %d", b1.Status)
	}
	c1 := open("c")
	if c1.Status != http.StatusServiceUnavailable || c1.Header.Get("Retry-After") == "" ||
		!strings.Contains(c1.Body, "as many live streams open as it can hold") {
		t.Errorf("fourth stream: %d %q, want 503 with a reason and Retry-After", c1.Status, c1.Body)
	}
	// Closing releases the counts, once: a stream closed by its client
	// and then found dead by a failed heartbeat too counts down once.
	_ = a1.conn.Close()
	h.Publish("t", Event{Name: "x", Data: []byte("{}")}) // a write to the closed one as well
	testkit.WaitFor(t, 10*time.Second, "the closed stream to be released", func() bool { return h.Streams() == 2 })
	if a4 := open("a"); a4.Status != 200 {
		t.Errorf("a again after closing one: %d %q", a4.Status, a4.Body)
	}
	if a5 := open("a"); a5.Status != http.StatusTooManyRequests {
		t.Errorf("a beyond its cap again: %d, want 429 (a count released twice?)", a5.Status)
	}
	if h.Streams() != 3 {
		t.Errorf("%d streams, want 3", h.Streams())
	}
}

func TestSlowClientCutOff(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{MaxBuffer: 64 << 10, MaxPerIP: 100}, specFromQuery)
	const fast = 20
	// The slow client reads its head and then nothing, with a tiny
	// receive buffer.
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		if err != nil {
			return err
		}
		return serr
	}}
	slow, err := dialErr(h.addr, "subject=events.test.slow", d)
	if err != nil || slow.Status != 200 {
		t.Fatalf("slow client: %v", err)
	}
	defer slow.conn.Close()
	slow.waitRetry(t)
	clients := make([]*sseClient, fast)
	for i := range clients {
		clients[i] = dial(t, h.addr, "subject=events.test.slow")
		clients[i].waitRetry(t)
	}
	testkit.WaitFor(t, 10*time.Second, "all streams", func() bool { return h.Streams() == fast+1 })

	payload := strings.Repeat("x", 200)
	var mu sync.Mutex
	received := make([]int, fast)
	errs := make(chan error, fast)
	for i, c := range clients {
		go func() {
			for n := 0; ; n++ {
				e, err := c.next(60 * time.Second)
				if err != nil {
					errs <- fmt.Errorf("fast stream %d after %d events: %v", i, n, err)
					return
				}
				if e.Data == `"end"` {
					errs <- nil
					return
				}
				if want := fmt.Sprintf(`{"n":%d,"p":"%s"}`, n, payload); e.Data != want {
					errs <- fmt.Errorf("fast stream %d: event %d out of order", i, n)
					return
				}
				mu.Lock()
				received[i]++
				mu.Unlock()
			}
		}()
	}
	// Publish until the slow one is cut off (bounded: 10 MB of events).
	sent := 0
	for ; sent < 50_000 && h.Streams() > fast; sent++ {
		publish(t, h.js, "events.test.slow", fmt.Sprintf(`{"n":%d,"p":"%s"}`, sent, payload))
	}
	if h.Streams() > fast {
		testkit.WaitFor(t, 30*time.Second, "the slow stream to be cut off", func() bool { return h.Streams() == fast })
	}
	publish(t, h.js, "events.test.slow", `"end"`)
	for range fast {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for i, n := range received {
		if n != sent {
			t.Errorf("fast stream %d got %d of %d events", i, n, sent)
		}
	}
	t.Logf("slow stream cut off after %d events of %d bytes", sent, len(payload)+len(`{"n":0,"p":""}`))
	if err := slow.expectEOF(30 * time.Second); err != nil {
		t.Errorf("slow client's connection not closed: %v", err)
	}
}

func TestDeadPeer(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{}, specFromQuery)
	c := dial(t, h.addr, "topic=t&reader=p")
	c.waitRetry(t)
	testkit.WaitFor(t, 10*time.Second, "the stream", func() bool { return h.Streams() == 1 && h.Readers("p") == 1 })
	_ = c.conn.Close()
	// No event and no heartbeat is due: the poller alone notices.
	testkit.WaitFor(t, 10*time.Second, "the closed stream to go", func() bool { return h.Streams() == 0 })
	testkit.WaitFor(t, 10*time.Second, "the reader to go", func() bool { return h.Readers("p") == 0 })
}

func TestReaderCounts(t *testing.T) {
	b := newBroker(t)
	h1 := startHub(t, b, Config{Process: "p1"}, specFromQuery)
	h2 := startHub(t, b, Config{Process: "p2"}, specFromQuery)
	both := func(post string, n int) func() bool {
		return func() bool { return h1.Readers(post) == n && h2.Readers(post) == n }
	}
	dash := dial(t, h1.addr, "topic="+TopicReaders)
	dash.waitRetry(t)
	a1 := dial(t, h1.addr, "reader=a")
	e := a1.readN(t, 1)[0]
	if e.Name != "readers" || e.Data != `{"post":"a","count":1}` {
		t.Errorf("first event of a reader %+v, want its count", e)
	}
	a2 := dial(t, h2.addr, "reader=a")
	a2.waitRetry(t)
	testkit.WaitFor(t, 10*time.Second, "2 readers of a on both", both("a", 2))
	if h1.ReadersTotal() != 2 {
		t.Errorf("total %d, want 2", h1.ReadersTotal())
	}
	waitEvent(t, a1, sseEvent{Name: "readers", Data: `{"post":"a","count":2}`})
	waitEvent(t, dash, sseEvent{Name: "readers", Data: `{"total":2,"posts":{"a":2}}`})

	_ = a2.conn.Close()
	testkit.WaitFor(t, 10*time.Second, "1 reader of a on both", both("a", 1))
	waitEvent(t, a1, sseEvent{Name: "readers", Data: `{"post":"a","count":1}`})

	a3 := dial(t, h2.addr, "reader=a")
	a3.waitRetry(t)
	testkit.WaitFor(t, 10*time.Second, "2 readers of a again", both("a", 2))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "the closed hub's reader to go", func() bool { return h1.Readers("a") == 1 })
	if err := a3.expectEOF(10 * time.Second); err != nil {
		t.Errorf("stream of the closed hub: %v", err)
	}
}

// waitEvent reads until want comes (others may come before it).
func waitEvent(t *testing.T, c *sseClient, want sseEvent) {
	t.Helper()
	var seen []sseEvent
	for {
		e, err := c.next(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for %+v (seen %+v): %v", want, seen, err)
		}
		if e == want {
			return
		}
		seen = append(seen, e)
	}
}

func TestShutdownThousandStreams(t *testing.T) {
	b := newBroker(t)
	before := runtime.NumGoroutine()
	h := startHub(t, b, Config{MaxPerIP: 2000}, specFromQuery)
	h.grace = 0
	const n = 1000
	clients := make([]*sseClient, n)
	for i := range clients {
		q := "subject=events.test.shutdown&reader=p"
		if i%2 == 0 {
			q = "subject=events.test.other&topic=t"
		}
		clients[i] = dial(t, h.addr, q)
		clients[i].waitRetry(t)
	}
	testkit.WaitFor(t, 10*time.Second, "1000 streams", func() bool { return h.Streams() == n })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("close with %d streams: %v", n, err)
	}
	for i, c := range clients {
		if err := c.expectEOF(10 * time.Second); err != nil {
			t.Fatalf("client %d did not see its stream end: %v", i, err)
		}
		_ = c.conn.Close()
	}
	if h.Streams() != 0 {
		t.Errorf("%d streams after Close", h.Streams())
	}
	_ = h.srv.Close()
	h.nc.Close()
	t.Cleanup(func() {
		if t.Failed() {
			buf := make([]byte, 1<<20)
			t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
	})
	testkit.WaitFor(t, 10*time.Second, "the hub's goroutines to end", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

func TestSubscriptionDroppedAfterLastStream(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{}, specFromQuery)
	h.grace = 100 * time.Millisecond
	consumers := func() int {
		info, err := h.js.Stream(context.Background(), "EVENTS")
		if err != nil {
			t.Fatal(err)
		}
		return info.CachedInfo().State.Consumers
	}
	c1 := dial(t, h.addr, "subject=events.test.b&subject=events.test.a")
	c2 := dial(t, h.addr, "subject=events.test.a&subject=events.test.b")
	c1.waitRetry(t)
	c2.waitRetry(t)
	if n := consumers(); n != 1 {
		t.Errorf("%d consumers for two streams on the same subjects, want 1", n)
	}
	_ = c1.conn.Close()
	_ = c2.conn.Close()
	testkit.WaitFor(t, 10*time.Second, "no streams", func() bool { return h.Streams() == 0 })
	testkit.WaitFor(t, 30*time.Second, "the consumer to go", func() bool { return consumers() == 0 })
}

func TestHeartbeat(t *testing.T) {
	b := newBroker(t)
	h := startHub(t, b, Config{Heartbeat: time.Second}, specFromQuery)
	c := dial(t, h.addr, "topic=t")
	c.waitRetry(t)
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatalf("no heartbeat: %v", err)
		}
		if strings.HasPrefix(line, ":") {
			return
		}
	}
}

// Over HTTP/2 a connection cannot be taken over: the stream is written by
// its handler's goroutine, with the same events.
func TestHTTP2Fallback(t *testing.T) {
	b := newBroker(t)
	nc, js := b.Connect(t)
	h, err := New(Config{NC: nc, JS: js})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Serve(w, r, specFromQuery(r))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/s?topic=t&subject=events.test.h2", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("got %s %d %q, want an HTTP/2 event stream", resp.Proto, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	readUntil := func(prefix string) string {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return strings.TrimSpace(line)
			}
		}
	}
	readUntil("retry: ")
	h.Publish("t", Event{Name: "note", Data: []byte(`{"a":1}`)})
	if got := readUntil("data: "); got != `data: {"a":1}` {
		t.Errorf("topic event %q", got)
	}
	seq := publish(t, js, "events.test.h2", `{"b":2}`)
	if got := readUntil("id: "); got != fmt.Sprintf("id: %d", seq) {
		t.Errorf("stored event %q, want id %d", got, seq)
	}
	cancel()
	testkit.WaitFor(t, 10*time.Second, "the stream to close with its request", func() bool { return h.Streams() == 0 })
}
