// Package analytics records page views: the web role turns a request into a
// jobs.pageview job, and the worker role stores it in data.db exactly once,
// in batches, with a cookieless visitor id, the country, the browser, and
// the bots kept apart in a ledger.
package analytics

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

// NewJob wraps a page view in a job with a fresh, stable id.
func NewJob(pv PageView) (jobs.Job, error) {
	data, err := json.Marshal(pv)
	if err != nil {
		return jobs.Job{}, fmt.Errorf("encode page view: %w", err)
	}
	return jobs.Job{ID: "pv-" + randomID(), Subject: jobs.SubjectPageView, Data: data}, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
