// Package live streams events to browsers over Server-Sent Events: one hub
// per process fans out the events stored in the EVENTS JetStream stream (one
// consumer per subject, shared by every stream following it) and local,
// unstored events, replays what a reconnecting browser missed from its
// Last-Event-ID, caps streams per client address and per process, cuts off a
// client too slow to read, and counts the readers of each post across every
// process. An idle stream costs no goroutine and no buffer: the hub takes
// the connection over from net/http and writes to it from a small pool of
// writers.
package live

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TopicReaders is the local topic on which the hub publishes, whenever the
// cross-process reader sums change (debounced), an Event named "readers"
// whose data is {"total":N,"posts":{"slug":n,...}} (the top 20 posts).
const TopicReaders = "readers"

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
	// JS is the JetStream context on NC.
	JS jetstream.JetStream
	// Stream is the JetStream stream holding recent events; default "EVENTS".
	Stream string
	// Process is this process's id for reader counts; default random.
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
	// Subjects are the NATS subjects (wildcards allowed) of the stored
	// events the stream follows, e.g. events.AllMetrics or
	// "events.comments.my-post".
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
	cfg Config
}

// New starts a hub: its writers, its dead-peer watcher and its reader-count
// subscription.
func New(cfg Config) (*Hub, error) {
	return &Hub{cfg: cfg}, nil
}

// Close closes every stream, stops consuming and announces that this
// process has no readers any more; it returns by ctx's deadline at the
// latest.
func (h *Hub) Close(ctx context.Context) error { return nil }

// Serve answers r with an SSE stream following s, or with 429, 503 or 400
// and a plain-text reason (with Retry-After where it applies).
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, s Spec) {
	http.Error(w, "live streams are not ready", http.StatusServiceUnavailable)
}

// Publish writes an unstored event to every stream of this process that
// follows topic.
func (h *Hub) Publish(topic string, e Event) {}

// Readers is how many streams read post, summed over all processes.
func (h *Hub) Readers(post string) int { return 0 }

// ReadersTotal is how many streams read any post, summed over all processes
// ("visitors now").
func (h *Hub) ReadersTotal() int { return 0 }

// Streams is how many streams are open in this process.
func (h *Hub) Streams() int { return 0 }
