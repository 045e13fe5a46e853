// Package analytics records page views: the web role turns a request into a
// jobs.pageview job, and the worker role stores it in data.db exactly once.
package analytics

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"site/app/jobs"
)

// PageView is the payload of a jobs.pageview job.
type PageView struct {
	Path      string    `json:"path"`
	Referrer  string    `json:"referrer,omitempty"`
	UserAgent string    `json:"ua,omitempty"`
	At        time.Time `json:"at"`
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

// Recorder stores page views in data.db.
type Recorder struct {
	// DB is the writer connection of data.db.
	DB *sql.DB
}

// Handle is the jobs.Handler of jobs.pageview: it records the job's id and
// the view in one transaction, and does nothing for an id already recorded.
func (r *Recorder) Handle(ctx context.Context, j jobs.Job) error {
	var pv PageView
	if err := json.Unmarshal(j.Data, &pv); err != nil {
		// A payload that does not decode will never decode: record it as
		// done with no effect rather than retrying it into dead letters.
		return r.markDone(ctx, j)
	}
	return r.markDone(ctx, j, pv)
}

func (r *Recorder) markDone(ctx context.Context, j jobs.Job, views ...PageView) error {
	tx, err := r.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record page view: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO processed_jobs (id, kind, done_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, j.ID, j.Kind(), time.Now().Unix())
	if err != nil {
		return fmt.Errorf("record page view: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // done before: a redelivery after a crash between commit and ack
	}
	for _, pv := range views {
		if _, err := tx.ExecContext(ctx, `INSERT INTO page_views (job_id, path, referrer, user_agent, viewed_at)
			VALUES (?, ?, ?, ?, ?)`, j.ID, pv.Path, pv.Referrer, pv.UserAgent, pv.At.UnixMilli()); err != nil {
			return fmt.Errorf("record page view: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record page view: %w", err)
	}
	return nil
}
