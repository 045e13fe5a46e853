package analytics_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
)

// clock is a movable time for Recorder.Now.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// job is a page-view job with a fixed id.
func job(tb testing.TB, id string, pv analytics.PageView) jobs.Job {
	tb.Helper()
	data, err := json.Marshal(pv)
	if err != nil {
		tb.Fatal(err)
	}
	return jobs.Job{ID: id, Subject: jobs.SubjectPageView, Data: data}
}

const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

func scalar(tb testing.TB, db *sql.DB, q string, args ...any) int {
	tb.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return int(n.Int64)
}

func text(tb testing.TB, db *sql.DB, q string, args ...any) string {
	tb.Helper()
	var s string
	if err := db.QueryRow(q, args...).Scan(&s); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return s
}

func handle(tb testing.TB, r *analytics.Recorder, js ...jobs.Job) {
	tb.Helper()
	if err := r.HandleBatch(context.Background(), js); err != nil {
		tb.Fatal(fmt.Errorf("HandleBatch: %w", err))
	}
}
