// Package analytics records page views: the web role turns a request into a
// jobs.pageview job, and the worker role stores it in data.db exactly once,
// in batches, with a cookieless visitor id, the country, the browser, and
// the bots kept apart in a ledger.
package analytics

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"

	"site/app/jobs"
)

// PageView is one page view as a jobs.pageview job carries it (a line of
// the pv1 format, payload.go). It carries what the worker needs to derive
// the stored fields; IP and the raw headers live only in the job, never in
// data.db.
type PageView struct {
	Path      string
	Host      string
	Referrer  string
	UserAgent string
	UTMSource string
	At        time.Time
	// IP is the address of the TCP peer (r.RemoteAddr without the port).
	IP string
	// ForwardedFor is the X-Forwarded-For header as received; it is used
	// only when IP is one of the configured trusted proxies.
	ForwardedFor string
	// DNT and GPC are the reader's Do-Not-Track and Global Privacy
	// Control signals; they are honoured when the operator turns that on.
	DNT bool
	GPC bool
}

// NewBatchJob wraps page views in one job with a fresh, stable id: the web
// role sends them in batches (see Batcher), so that one JetStream message,
// one dedup id and one processed-job row serve them all. The payload is
// the pv1 text format (payload.go); the i-th view's own id, as the
// page_views view of data.db shows it, is the job id, a dot and i.
func NewBatchJob(views []PageView) jobs.Job {
	size := len(payloadMagic)
	for i := range views {
		size += encodedSize(&views[i])
	}
	w := newBatchWriter(size)
	for i := range views {
		w.add(&views[i])
	}
	return w.job()
}

// encodedSize bounds a view's line in a batch when no field needs escaping:
// its strings, plus the time, the tabs and the flags.
func encodedSize(pv *PageView) int {
	return 32 + len(pv.Path) + len(pv.Host) + len(pv.Referrer) + len(pv.UserAgent) + len(pv.UTMSource) +
		len(pv.IP) + len(pv.ForwardedFor)
}

// newJobID is "pv-" and the time in nanoseconds then 48 random bits, in
// hex: unique across processes, and rising with time, so that the
// processed_jobs primary key grows at its end instead of everywhere.
func newJobID() string {
	var b [14]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	_, _ = rand.Read(b[8:])
	return "pv-" + hex.EncodeToString(b[:])
}
