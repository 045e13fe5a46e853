// Package live streams events to browsers over Server-Sent Events: one hub
// per process fans out the events stored in the EVENTS JetStream stream (one
// consumer per subject set, shared by every stream following it) and local,
// unstored events, replays what a reconnecting browser missed from its
// Last-Event-ID, caps streams per client address and per process, cuts off a
// client too slow to read, and counts the readers of each post across every
// process. An idle stream costs no goroutine and no buffer: the hub takes
// the connection over from net/http and writes to it from a small pool of
// writers (docs/architecture.md, "Live streams").
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/metrics"
)

// TopicReaders is the local topic on which the hub publishes, whenever the
// cross-process reader sums change (debounced), an Event named "readers"
// whose data is {"total":N,"posts":{"slug":n,...}} (the top 20 posts).
const TopicReaders = "readers"

// Defaults of Config.
const (
	// DefaultStream is the JetStream stream of recent events
	// (app/jobs.StreamEvents).
	DefaultStream = "EVENTS"
	// DefaultMaxPerIP is how many streams one client address may hold.
	DefaultMaxPerIP = 32
	// DefaultHeartbeat is how often every stream gets a comment line.
	DefaultHeartbeat = 15 * time.Second
	// DefaultRetry is the reconnection delay sent to browsers.
	DefaultRetry = 3 * time.Second
	// DefaultMaxBuffer is how many bytes may wait for one stream.
	DefaultMaxBuffer = 256 << 10
)

const (
	// writeTimeout is how long a stream may have bytes it cannot send
	// (the client stopped reading) before it is cut off.
	writeTimeout = 10 * time.Second
	// subscriptionGrace is how long a stored-event consumer outlives its
	// last stream, so that a browser reconnecting finds it still there.
	subscriptionGrace = 10 * time.Second
	// retryAfterPerIP and retryAfterFull are the Retry-After of a 429 and
	// a 503.
	retryAfterPerIP = "10"
	retryAfterFull  = "30"
)

// Why a stream ended, as site_live_cut_total counts it.
const (
	cutSlow     = "slow"     // its buffer overflowed or it stopped reading
	cutDead     = "dead"     // the peer went away (or wrote to us)
	cutShutdown = "shutdown" // the hub closed
)

// Event is one message written to streams.
type Event struct {
	// ID is the sequence of the event in the EVENTS JetStream stream; 0 for
	// an event not stored (not replayable; no "id:" line is written).
	ID uint64
	// Name is the SSE event name ("event:" line); for stored events it is
	// the NATS subject, e.g. "events.metrics.views".
	Name string
	// Data is one line of JSON ("data:" line).
	Data []byte
}

// Config configures a Hub; zero fields take their defaults.
type Config struct {
	// NC is the process's one NATS connection (shared).
	NC *nats.Conn
	// JS is the JetStream context on NC; default jetstream.New(NC).
	JS jetstream.JetStream
	// Stream is the JetStream stream holding recent events; default "EVENTS".
	Stream string
	// Process is this process's id for reader counts (one subject token);
	// default random.
	Process string
	// MaxStreams is how many streams may be open in this process before new
	// ones are answered 503; default the soft RLIMIT_NOFILE minus 1024
	// (at least 64).
	MaxStreams int
	// MaxPerIP is how many streams one client address may hold open before
	// new ones are answered 429; default 32.
	MaxPerIP int
	// Heartbeat is how often a comment line is written to every stream;
	// default 15s.
	Heartbeat time.Duration
	// Retry is the reconnection delay sent ("retry:") at stream start;
	// default 3s.
	Retry time.Duration
	// MaxBuffer is how many bytes may be queued for one stream before it is
	// cut off (closed); default 256 KiB.
	MaxBuffer int
	// ClientIP names the client of a request for MaxPerIP; default the host
	// of r.RemoteAddr.
	ClientIP func(*http.Request) string
	// Logger receives the hub's logs; default slog.Default().
	Logger *slog.Logger
}

// Spec says what one stream follows.
type Spec struct {
	// Subjects are the NATS subjects (wildcards allowed, none overlapping
	// another) of the stored events the stream follows, e.g.
	// events.AllMetrics or "events.comments.my-post".
	Subjects []string
	// Since makes a new stream (one without Last-Event-ID) first get the
	// stored events on Subjects from now-Since; 0 gives none.
	Since time.Duration
	// Topics are the local topics the stream receives from Hub.Publish
	// (this process only).
	Topics []string
	// Reader is "" or a post slug: while the stream is open it counts as
	// one reader of that post, and it gets "readers" events for that post
	// ({"post":"slug","count":N}) at start and whenever the count changes.
	Reader string
	// Hello, when set, gives the events written first (the current state),
	// before the replay.
	Hello func() []Event
}

// Hub serves SSE streams for one process; New starts one, Close stops it.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	js     jetstream.JetStream
	poller *poller
	queue  runQueue
	counts *readerCounts
	open   atomic.Int64  // admitted streams, Streams()
	grace  time.Duration // subscriptionGrace; tests shorten it

	mu        sync.RWMutex
	closed    bool
	nextID    uint64
	streams   map[uint64]*stream
	perIP     map[string]int
	subs      map[string]*subscription // by subject-set key
	topics    map[string]map[*stream]struct{}
	readersOf map[string]map[*stream]struct{} // this process's streams reading each post

	stop      chan struct{} // closed by Close: ends the loops
	wg        sync.WaitGroup
	slowCuts  atomic.Int64 // since the last aggregated warning
	closeOnce sync.Once
	closeDone chan struct{}
}

// New starts a hub: its writers, its dead-peer watcher, its heartbeat and
// its reader-count subscription.
func New(cfg Config) (*Hub, error) {
	if cfg.NC == nil {
		return nil, errors.New("live: Config.NC is required")
	}
	if cfg.JS == nil {
		js, err := jetstream.New(cfg.NC)
		if err != nil {
			return nil, fmt.Errorf("live: jetstream: %w", err)
		}
		cfg.JS = js
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.Process == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Process = hex.EncodeToString(b[:])
	}
	if !isToken(cfg.Process) {
		return nil, fmt.Errorf("live: process id %q is not one subject token", cfg.Process)
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = max(openFileLimit()-1024, 64)
	}
	if cfg.MaxPerIP <= 0 {
		cfg.MaxPerIP = DefaultMaxPerIP
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.MaxBuffer <= 0 {
		cfg.MaxBuffer = DefaultMaxBuffer
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteHost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Hub{
		cfg: cfg, log: cfg.Logger, js: cfg.JS,
		streams: map[uint64]*stream{}, perIP: map[string]int{}, subs: map[string]*subscription{},
		topics: map[string]map[*stream]struct{}{}, readersOf: map[string]map[*stream]struct{}{},
		stop: make(chan struct{}), closeDone: make(chan struct{}), grace: subscriptionGrace,
	}
	h.queue.init()
	p, err := newPoller(h)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	h.poller = p
	counts, err := startReaderCounts(h)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("live: reader counts: %w", err)
	}
	h.counts = counts
	for range max(2, runtime.GOMAXPROCS(0)) {
		h.wg.Go(h.writer)
	}
	h.wg.Go(h.maintain)
	if p.enabled() {
		h.wg.Go(p.run)
	}
	return h, nil
}

// Close closes every stream, stops consuming and announces that this
// process has no readers any more; it returns by ctx's deadline at the
// latest (with ctx's error if the hub had not stopped by then).
func (h *Hub) Close(ctx context.Context) error {
	h.closeOnce.Do(func() { go h.shutdown() })
	select {
	case <-h.closeDone:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("live: close: %w", ctx.Err())
	}
}

// shutdown stops the hub; Close runs it once and waits for it within its
// context.
func (h *Hub) shutdown() {
	defer close(h.closeDone)
	h.mu.Lock()
	h.closed = true
	all := make([]*stream, 0, len(h.streams))
	for _, s := range h.streams {
		all = append(all, s)
	}
	subs := h.subs
	h.subs = map[string]*subscription{}
	h.mu.Unlock()

	h.counts.close()
	for _, s := range all {
		s.close(cutShutdown)
	}
	for _, sub := range subs {
		sub.stop(h)
	}
	close(h.stop)
	h.queue.close()
	h.poller.wake()
	h.wg.Wait()
	h.poller.close()
	if len(all) > 0 {
		h.log.Info("live: hub closed", "streams", len(all))
	}
}

// Serve answers r with an SSE stream following s, or with 429, 503 or 400
// and a plain-text reason (with Retry-After where it applies).
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, spec Spec) {
	if r.Method == http.MethodHead { // a GET route answers HEAD too: the head, no stream
		for _, kv := range sseHeaders {
			w.Header().Set(kv[0], kv[1])
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	var last uint64
	resume := false
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			http.Error(w, "Last-Event-ID must be the number of an event", http.StatusBadRequest)
			return
		}
		last, resume = n, true
	}
	key, subjects := subjectKey(spec.Subjects)
	s, refused := h.admit(h.cfg.ClientIP(r))
	if s == nil {
		switch refused {
		case refusedPerIP:
			w.Header().Set("Retry-After", retryAfterPerIP)
			http.Error(w, "Too many live streams from your address", http.StatusTooManyRequests)
		case refusedClosed:
			w.Header().Set("Retry-After", retryAfterFull)
			http.Error(w, "The site is shutting down", http.StatusServiceUnavailable)
		default:
			w.Header().Set("Retry-After", retryAfterFull)
			http.Error(w, "The site has as many live streams open as it can hold", http.StatusServiceUnavailable)
		}
		return
	}
	if len(subjects) > 0 {
		if err := h.join(s, key, subjects); err != nil {
			s.close("")
			if !errors.Is(err, errClosed) {
				h.log.Warn("live: follow subjects", "subjects", subjects, "err", err)
			}
			w.Header().Set("Retry-After", retryAfterFull)
			http.Error(w, "Live events are not available right now", http.StatusServiceUnavailable)
			return
		}
	}
	if !h.register(s, spec) {
		s.close("")
		w.Header().Set("Retry-After", retryAfterFull)
		http.Error(w, "The site is shutting down", http.StatusServiceUnavailable)
		return
	}
	st := setup{spec: spec, subjects: subjects, resume: resume, last: last}
	conn, _, err := http.NewResponseController(w).Hijack()
	switch {
	case errors.Is(err, http.ErrNotSupported):
		h.serveFlushing(w, r, s, st)
	case err != nil:
		s.close(cutDead)
		h.log.Debug("live: hijack", "err", err)
	default:
		h.serveHijacked(w.Header(), r, conn, s, st)
	}
}

// Publish writes an unstored event to every stream of this process that
// follows topic.
func (h *Hub) Publish(topic string, e Event) {
	e.ID = 0
	frame := encode(e)
	h.mu.RLock()
	for s := range h.topics[topic] {
		s.deliver(frame, 0)
	}
	h.mu.RUnlock()
}

// Readers is how many streams read post, summed over all processes.
func (h *Hub) Readers(post string) int { return h.counts.readers(post) }

// ReadersTotal is how many streams read any post, summed over all processes
// ("visitors now").
func (h *Hub) ReadersTotal() int { return h.counts.total() }

// Streams is how many streams are open in this process.
func (h *Hub) Streams() int { return int(h.open.Load()) }

// Why admit refused a stream.
const (
	refusedPerIP  = "per_ip"
	refusedFull   = "full"
	refusedClosed = "closed" // not counted: the hub is closing
)

// admit counts a new stream against the caps, or says which one refused
// it.
func (h *Hub) admit(ip string) (*stream, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, refusedClosed
	case h.perIP[ip] >= h.cfg.MaxPerIP:
		metrics.LiveRefused.WithLabelValues(refusedPerIP).Inc()
		return nil, refusedPerIP
	case len(h.streams) >= h.cfg.MaxStreams:
		metrics.LiveRefused.WithLabelValues(refusedFull).Inc()
		return nil, refusedFull
	}
	h.nextID++
	s := &stream{hub: h, id: h.nextID, ip: ip, setup: true}
	h.streams[s.id] = s
	h.perIP[ip]++
	h.open.Add(1)
	metrics.LiveStreams.Inc()
	return s, ""
}

// register adds an admitted stream to its topics and to the readers of
// its post; false when the stream or the hub closed meanwhile.
func (h *Hub) register(s *stream, spec Spec) bool {
	h.mu.Lock()
	if h.closed || s.closed.Load() {
		h.mu.Unlock()
		return false
	}
	s.topics = slices.Compact(slices.Sorted(slices.Values(spec.Topics)))
	for _, t := range s.topics {
		set := h.topics[t]
		if set == nil {
			set = map[*stream]struct{}{}
			h.topics[t] = set
		}
		set[s] = struct{}{}
	}
	if spec.Reader != "" {
		s.reader = spec.Reader
		set := h.readersOf[s.reader]
		if set == nil {
			set = map[*stream]struct{}{}
			h.readersOf[s.reader] = set
		}
		set[s] = struct{}{}
	}
	h.mu.Unlock()
	if s.reader != "" {
		h.counts.add(s.reader, 1)
	}
	return true
}

// unregister removes a closed stream from everything it was counted in;
// stream.close calls it once.
func (h *Hub) unregister(s *stream) {
	h.mu.Lock()
	if _, ok := h.streams[s.id]; ok {
		delete(h.streams, s.id)
		if h.perIP[s.ip]--; h.perIP[s.ip] <= 0 {
			delete(h.perIP, s.ip)
		}
		h.open.Add(-1)
		metrics.LiveStreams.Dec()
	}
	for _, t := range s.topics {
		if set := h.topics[t]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(h.topics, t)
			}
		}
	}
	counted := false
	if s.reader != "" {
		if set := h.readersOf[s.reader]; set != nil {
			if _, ok := set[s]; ok {
				counted = true
				delete(set, s)
			}
			if len(set) == 0 {
				delete(h.readersOf, s.reader)
			}
		}
	}
	if sub := s.sub; sub != nil {
		delete(sub.streams, s)
		if len(sub.streams) == 0 && !h.closed {
			sub.idleSince(h)
		}
	}
	h.mu.Unlock()
	if counted {
		h.counts.add(s.reader, -1)
	}
}

// lookup finds an open stream by id (the poller's events carry ids, never
// file descriptors, whose numbers are reused).
func (h *Hub) lookup(id uint64) *stream {
	h.mu.RLock()
	s := h.streams[id]
	h.mu.RUnlock()
	return s
}

// maintain writes the heartbeats, cuts off streams whose client stopped
// reading, and logs the cut-offs in aggregate.
func (h *Hub) maintain() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	heartbeat := []byte(": \n\n")
	nextBeat := time.Now().Add(h.cfg.Heartbeat)
	nextWarn := time.Now().Add(10 * time.Second)
	var batch []*stream
	for {
		select {
		case <-h.stop:
			return
		case now := <-tick.C:
			beat := !now.Before(nextBeat)
			if beat {
				nextBeat = now.Add(h.cfg.Heartbeat)
			}
			batch = batch[:0]
			h.mu.RLock()
			for _, s := range h.streams {
				batch = append(batch, s)
			}
			h.mu.RUnlock()
			stuck := now.Add(-writeTimeout).UnixNano()
			for _, s := range batch {
				s.tick(beat, heartbeat, stuck)
			}
			clear(batch)
			if now.After(nextWarn) {
				nextWarn = now.Add(10 * time.Second)
				if n := h.slowCuts.Swap(0); n > 0 {
					h.log.Warn("live: streams cut off: their clients did not keep up", "streams", n,
						"max_buffer", h.cfg.MaxBuffer, "write_timeout", writeTimeout)
				}
			}
		}
	}
}

// remoteHost is the default Config.ClientIP: the host of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isToken reports whether s can be one token of a NATS subject.
func isToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}

// subjectKey sorts and deduplicates subjects and names the set.
func subjectKey(subjects []string) (string, []string) {
	if len(subjects) == 0 {
		return "", nil
	}
	set := slices.Compact(slices.Sorted(slices.Values(subjects)))
	return strings.Join(set, " "), set
}
