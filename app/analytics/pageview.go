// Package analytics records page views: the web role turns a request into a
// jobs.pageview job, and the worker role stores it in data.db exactly once,
// in batches, with a cookieless visitor id, the country, the browser, and
// the bots kept apart in a ledger.
package analytics

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"site/app/jobs"
)

// PageView is the payload of a jobs.pageview job. It carries what the
// worker needs to derive the stored fields; IP and the raw headers live only
// in the job, never in data.db.
type PageView struct {
	Path      string    `json:"path"`
	Host      string    `json:"host,omitempty"`
	Referrer  string    `json:"referrer,omitempty"`
	UserAgent string    `json:"ua,omitempty"`
	UTMSource string    `json:"utm,omitempty"`
	At        time.Time `json:"at"`
	// IP is the address of the TCP peer (r.RemoteAddr without the port).
	IP string `json:"ip,omitempty"`
	// ForwardedFor is the X-Forwarded-For header as received; it is used
	// only when IP is one of the configured trusted proxies.
	ForwardedFor string `json:"xff,omitempty"`
	// DNT and GPC are the reader's Do-Not-Track and Global Privacy
	// Control signals; they are honoured when the operator turns that on.
	DNT bool `json:"dnt,omitempty"`
	GPC bool `json:"gpc,omitempty"`
}

// PageViews is the JSON payload of a batch job as web roles before the
// pv1 format (payload.go) sent it; the worker still reads it, so that jobs
// waiting in JetStream across an upgrade are stored. The i-th view's own id
// is ViewID(job id, i).
type PageViews struct {
	Views []PageView `json:"views"`
}

// NewJob wraps a page view in a job of its own with a fresh, stable id.
func NewJob(pv PageView) (jobs.Job, error) {
	data, err := json.Marshal(pv)
	if err != nil {
		return jobs.Job{}, fmt.Errorf("encode page view: %w", err)
	}
	return jobs.Job{ID: newJobID(), Subject: jobs.SubjectPageView, Data: data, Count: 1}, nil
}

// NewBatchJob wraps page views in one job with a fresh, stable id: the web
// role sends them in batches (see Batcher), so that one JetStream message,
// one dedup id and one processed-job row serve them all. The payload is
// the pv1 text format (payload.go); the i-th view's own id is
// ViewID(job id, i).
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

// DecodeBatch reads the page views of a batch job's payload, in the pv1
// format or the older JSON one.
func DecodeBatch(data []byte) ([]PageView, error) {
	if isBatchPayload(data) {
		return decodeBatch(data)
	}
	var p PageViews
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decode page views: %w", err)
	}
	return p.Views, nil
}

// ViewID is the id of the i-th view of a batch job, as the page_views view
// of data.db shows it: unique, and the same on every delivery of the job.
func ViewID(jobID string, i int) string { return jobID + "." + strconv.Itoa(i) }

// newJobID is "pv-" and the time in nanoseconds then 48 random bits, in
// hex: unique across processes, and rising with time, so that the
// processed_jobs primary key grows at its end instead of everywhere.
func newJobID() string {
	var b [14]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	_, _ = rand.Read(b[8:])
	return "pv-" + hex.EncodeToString(b[:])
}
