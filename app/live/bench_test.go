package live

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/benchdoc"
	"site/internal/testkit"
)

// The benchmarks need more connections than one process may open (the
// open-file limit here is 20,000), so the server under test runs in a
// child process: the test binary itself, started with benchServerEnv set,
// which TestMain turns into the server instead of the tests.
const (
	benchServerEnv = "LIVE_BENCH_SERVER" // "hub" or "plain"
	benchNATSEnv   = "LIVE_BENCH_NATS"   // the NATS URL the server connects to
	benchSubject   = "events.bench.>"
	benchConns     = 19_000
	fanoutConns    = 10_000
	fanoutEvents   = 20
	benchHeading   = "## Live streams"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(benchServerEnv); mode != "" {
		if err := runBenchServer(mode); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// memReport is what a bench server says of its memory, after a collection
// that returned what it could to the system.
type memReport struct {
	RSS        int64 `json:"rss"` // VmRSS, bytes
	HeapInuse  int64 `json:"heap_inuse"`
	StackInuse int64 `json:"stack_inuse"`
	Goroutines int   `json:"goroutines"`
	Streams    int   `json:"streams"`
}

// runBenchServer serves /s (the stream under test) and /debug/mem on a
// loopback port, prints "addr <host:port>", and runs until its stdin
// closes.
func runBenchServer(mode string) error {
	nc, err := nats.Connect(os.Getenv(benchNATSEnv), nats.Token(testkit.NATSToken))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	var streams func() int
	var serve http.HandlerFunc
	switch mode {
	case "hub":
		h, err := New(Config{NC: nc, JS: js, MaxStreams: 19_800, MaxPerIP: 20_000,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			return err
		}
		defer h.Close(context.Background())
		streams = h.Streams
		serve = func(w http.ResponseWriter, r *http.Request) {
			h.Serve(w, r, Spec{Subjects: []string{benchSubject}})
		}
	case "plain":
		p, err := newPlainSSE(js)
		if err != nil {
			return err
		}
		streams = func() int { return int(p.open.Load()) }
		serve = p.serve
	default:
		return fmt.Errorf("mode %q", mode)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /s", serve)
	mux.HandleFunc("GET /debug/mem", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rep := memReport{RSS: vmRSS(), HeapInuse: int64(ms.HeapInuse), StackInuse: int64(ms.StackInuse),
			Goroutines: runtime.NumGoroutine(), Streams: streams()}
		_ = json.NewEncoder(w).Encode(rep)
	})
	mux.HandleFunc("GET /debug/streams", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, streams())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("addr %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// vmRSS is the process's resident set size in bytes, from /proc.
func vmRSS() int64 {
	raw, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// plainSSE is the reference: the usual net/http SSE handler, one goroutine
// per stream that writes, flushes and then waits in a select on the
// request's end, a heartbeat ticker and its channel of events, fed by one
// JetStream consumer of the same subjects.
type plainSSE struct {
	open atomic.Int64
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

func newPlainSSE(js jetstream.JetStream) (*plainSSE, error) {
	p := &plainSSE{subs: map[chan []byte]struct{}{}}
	cons, err := js.OrderedConsumer(context.Background(), DefaultStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{benchSubject}, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, err
	}
	_, err = cons.Consume(func(msg jetstream.Msg) {
		meta, err := msg.Metadata()
		if err != nil {
			return
		}
		frame := encode(Event{ID: meta.Sequence.Stream, Name: msg.Subject(), Data: msg.Data()})
		p.mu.Lock()
		for ch := range p.subs {
			select {
			case ch <- frame:
			default: // a slow client misses events
			}
		}
		p.mu.Unlock()
	})
	return p, err
}

func (p *plainSSE) serve(w http.ResponseWriter, r *http.Request) {
	ch := make(chan []byte, 16)
	p.mu.Lock()
	p.subs[ch] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.subs, ch)
		p.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 3000\n\n")
	flusher := w.(http.Flusher)
	flusher.Flush()
	p.open.Add(1)
	defer p.open.Add(-1)
	tick := time.NewTicker(DefaultHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			_, _ = io.WriteString(w, ": \n\n")
			flusher.Flush()
		case frame := <-ch:
			_, _ = w.Write(frame)
			flusher.Flush()
		}
	}
}

// benchServer is a running child server.
type benchServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

func startBenchServer(b *testing.B, mode, natsURL string) *benchServer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"="+mode, benchNATSEnv+"="+natsURL)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &benchServer{cmd: cmd, stdin: stdin}
	b.Cleanup(s.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("%s server: %v", mode, err)
	}
	s.addr = strings.TrimSpace(strings.TrimPrefix(line, "addr "))
	return s
}

func (s *benchServer) stop() {
	if s.stdin != nil {
		_ = s.stdin.Close()
		s.stdin = nil
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
}

func (s *benchServer) mem(b *testing.B) memReport {
	b.Helper()
	resp, err := http.Get("http://" + s.addr + "/debug/mem")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var rep memReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		b.Fatal(err)
	}
	return rep
}

func (s *benchServer) streams(b *testing.B) int {
	b.Helper()
	resp, err := http.Get("http://" + s.addr + "/debug/streams")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	n, _ := strconv.Atoi(string(raw))
	return n
}

// openStreams opens n streams to s and returns their connections, each
// read up to its "retry:" line (its start is written).
func openStreams(b *testing.B, s *benchServer, n int) []net.Conn {
	b.Helper()
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	req := "GET /s HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
	for range 32 {
		wg.Go(func() {
			br := bufio.NewReaderSize(nil, 4096)
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				conn, err := net.Dial("tcp", s.addr)
				if err == nil {
					_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
					_, err = io.WriteString(conn, req)
				}
				if err == nil {
					br.Reset(conn)
					for {
						var line string
						line, err = br.ReadString('\n')
						if err != nil || strings.HasPrefix(line, "retry:") {
							break
						}
					}
				}
				if err != nil {
					failed.Store(fmt.Errorf("stream %d: %w", i, err))
					return
				}
				_ = conn.SetDeadline(time.Time{})
				conns[i] = conn
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		closeAll(conns)
		b.Fatal(err)
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
}

// needFiles skips the benchmark when this process may not open n
// connections (with a margin for NATS and the rest).
func needFiles(b *testing.B, n int) {
	b.Helper()
	if testing.Short() {
		b.Skip("opens tens of thousands of connections; not under -short")
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		b.Skipf("open-file limit unknown: %v", err)
	}
	if int(rl.Cur) < n+500 {
		b.Skipf("open-file limit %d is below the %d connections this needs (+500 spare): raise it (ulimit -n)", rl.Cur, n)
	}
}

// benchBroker is NATS with the site's streams, listening on loopback for
// the child server.
func benchBroker(b *testing.B) *testkit.Broker {
	return newBroker(b)
}

// BenchmarkMemoryPerIdleStream measures the process memory an idle stream
// costs at 19,000 connections: the hub against a plain net/http SSE
// handler, each in a child process, same run. It writes the "memory"
// block of the "## Live streams" section of docs/benchmarks.md.
func BenchmarkMemoryPerIdleStream(b *testing.B) {
	needFiles(b, benchConns)
	load := benchdoc.LoadAverage()
	broker := benchBroker(b)
	type result struct {
		mode          string
		before, after memReport
	}
	var results []result
	for range b.N {
		results = results[:0]
		for _, mode := range []string{"plain", "hub"} {
			s := startBenchServer(b, mode, broker.URL())
			closeAll(openStreams(b, s, 200)) // warm up: first-use allocations are not per stream
			deadline := time.Now().Add(time.Minute)
			for s.streams(b) != 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			before := s.mem(b)
			conns := openStreams(b, s, benchConns)
			for s.streams(b) != benchConns && time.Now().Before(deadline.Add(time.Minute)) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(time.Second) // let the handshakes' goroutines end
			after := s.mem(b)
			if after.Streams != benchConns {
				b.Fatalf("%s: %d streams open, want %d", mode, after.Streams, benchConns)
			}
			results = append(results, result{mode, before, after})
			closeAll(conns)
			s.stop()
		}
	}
	perConn := func(r result, f func(memReport) int64) float64 {
		return float64(f(r.after)-f(r.before)) / benchConns
	}
	rss := func(m memReport) int64 { return m.RSS }
	goMem := func(m memReport) int64 { return m.HeapInuse + m.StackInuse }
	plain, hub := results[0], results[1]
	b.ReportMetric(perConn(hub, rss), "B/stream")
	b.ReportMetric(perConn(plain, rss), "plain-B/stream")
	var rows strings.Builder
	for _, r := range []result{hub, plain} {
		name := "site (app/live hub)"
		if r.mode == "plain" {
			name = "plain net/http handler"
		}
		fmt.Fprintf(&rows, "| %s | %.1f MiB | %.1f MiB | **%.0f B** | %.0f B | %d → %d |\n", name,
			float64(r.before.RSS)/(1<<20), float64(r.after.RSS)/(1<<20), perConn(r, rss), perConn(r, goMem),
			r.before.Goroutines, r.after.Goroutines)
	}
	body := fmt.Sprintf(`### Memory per idle stream

Measured by `+"`go test ./app/live -run '^$' -bench Memory -benchtime 1x`"+` on %s (%d cores, load average %s
at the start), %s.

%d SSE connections held open and idle on one server process (a child process; the client, this
test, holds the other ends), all from 127.0.0.1, each following `+"`%s`"+`: through the hub, or
through a plain handler (its goroutine waits in a select on the request's end, a heartbeat ticker
and a channel fed by one JetStream consumer). Memory is the server's VmRSS after runtime.GC and debug.FreeOSMemory, before the
connections (after a warm-up of 200) and once all are open; per stream = difference / %d. "Go
heap + stacks" is HeapInuse + StackInuse by the same difference.

| server | RSS before | RSS with %d streams | per stream (RSS) | per stream (Go heap + stacks) | goroutines |
|---|---|---|---|---|---|
%s
**Ratio: %.2f × the plain handler's memory per stream** (%.0f B against %.0f B; target ≤ 2 KB).
The hub keeps no goroutine and no buffer for an idle stream, only its connection and its entry
in the hub's maps; the plain handler keeps a goroutine, its stack and net/http's buffers for
each.
`, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), load, runtime.Version(), benchConns, benchSubject,
		benchConns, benchConns, rows.String(), perConn(hub, rss)/perConn(plain, rss), perConn(hub, rss), perConn(plain, rss))
	if err := benchdoc.WriteBlock(benchDoc(), benchHeading, "memory", body); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFanOut measures how long one stored event takes to reach
// 10,000 open streams (from the publish to the last stream's read), over
// 20 events: the hub against the plain handler (one goroutine per stream,
// fed by a channel), each in a child process, same run. It writes the
// "fanout" block of the "## Live streams" section of docs/benchmarks.md.
func BenchmarkFanOut(b *testing.B) {
	needFiles(b, fanoutConns)
	load := benchdoc.LoadAverage()
	broker := benchBroker(b)
	_, js := broker.Connect(b)
	type result struct {
		mode      string
		latencies []time.Duration
	}
	var results []result
	for range b.N {
		results = results[:0]
		for _, mode := range []string{"plain", "hub"} {
			s := startBenchServer(b, mode, broker.URL())
			conns := openStreams(b, s, fanoutConns)
			counts := make([]atomic.Int64, fanoutEvents)
			lastAt := make([]atomic.Int64, fanoutEvents)
			var readers sync.WaitGroup
			for _, c := range conns {
				readers.Go(func() { readArrivals(c, counts, lastAt) })
			}
			var lat []time.Duration
			for k := range fanoutEvents {
				start := time.Now()
				if _, err := js.Publish(context.Background(), "events.bench.fanout", fmt.Appendf(nil, `{"k":%d,"pad":"%s"}`, k, strings.Repeat("x", 100))); err != nil {
					b.Fatal(err)
				}
				deadline := time.Now().Add(60 * time.Second)
				for counts[k].Load() < fanoutConns {
					if time.Now().After(deadline) {
						b.Fatalf("%s: event %d reached %d of %d streams", mode, k, counts[k].Load(), fanoutConns)
					}
					time.Sleep(time.Millisecond)
				}
				lat = append(lat, time.Duration(lastAt[k].Load()-start.UnixNano()))
				time.Sleep(200 * time.Millisecond)
			}
			closeAll(conns)
			readers.Wait()
			s.stop()
			results = append(results, result{mode, lat})
		}
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		s := slices.Sorted(slices.Values(d))
		i := int(float64(len(s))*p+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	plain, hub := results[0], results[1]
	b.ReportMetric(float64(pct(hub.latencies, .5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(pct(hub.latencies, .99).Microseconds()), "p99-µs")
	var rows strings.Builder
	for _, r := range []result{hub, plain} {
		name := "site (app/live hub)"
		if r.mode == "plain" {
			name = "plain net/http handler"
		}
		fmt.Fprintf(&rows, "| %s | **%s** | %s | %s |\n", name, round(pct(r.latencies, .5)),
			round(pct(r.latencies, .99)), round(slices.Min(r.latencies)))
	}
	body := fmt.Sprintf(`### Fan-out

Measured by `+"`go test ./app/live -run '^$' -bench FanOut -benchtime 1x`"+` on %s (%d cores, load average %s
at the start), %s.

One event published to the EVENTS stream (JetStream, real NATS over loopback) reaches %d open
streams of a server in a child process; the time is from the publish to the moment the client (this
test, one reading goroutine per connection) has read it on the last of them, over %d events 200 ms
apart.

| server | p50 | p99 | fastest |
|---|---|---|---|
%s
**Ratio: %.2f × the plain handler's time at p50** (%.2f at p99). The hub appends the event to
each stream's pending bytes (a few milliseconds for 10,000) and its writer goroutines write them without
waiting on any socket; the plain handler wakes one goroutine per stream. Both make one write(2)
per stream per event, and on loopback each write also does the client's receiving work, with
server, client (%d connections) and NATS sharing the machine's cores and its load: the times are
mostly waiting for CPU, so they compare the two servers rather than tell what a quiet one does.
`, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), load, runtime.Version(), fanoutConns, fanoutEvents,
		rows.String(), float64(pct(hub.latencies, .5))/float64(pct(plain.latencies, .5)),
		float64(pct(hub.latencies, .99))/float64(pct(plain.latencies, .99)), fanoutConns)
	if err := benchdoc.WriteBlock(benchDoc(), benchHeading, "fanout", body); err != nil {
		b.Fatal(err)
	}
}

// readArrivals reads a stream until it ends, noting for each event
// {"k":K,...} that it arrived and when.
func readArrivals(c net.Conn, counts, lastAt []atomic.Int64) {
	br := bufio.NewReaderSize(c, 1024)
	prefix := []byte(`data: {"k":`)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		rest, ok := bytes.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		now := time.Now().UnixNano()
		end := bytes.IndexByte(rest, ',')
		k, err := strconv.Atoi(string(rest[:max(end, 0)]))
		if err != nil || k < 0 || k >= len(counts) {
			continue
		}
		counts[k].Add(1)
		for {
			old := lastAt[k].Load()
			if now <= old || lastAt[k].CompareAndSwap(old, now) {
				break
			}
		}
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func benchDoc() string { return filepath.Join("..", "..", "docs", "benchmarks.md") }
