package analytics_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
)

// clock is a movable time for Recorder.Now.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// job is a page-view job of one view with a fixed id; the view's id is
// viewID(id, 0).
func job(id string, pv analytics.PageView) jobs.Job {
	j := analytics.NewBatchJob([]analytics.PageView{pv})
	j.ID = id
	return j
}

// viewID is the id of the i-th view of job jobID, as the page_views view
// of data.db shows it.
func viewID(jobID string, i int) string { return fmt.Sprintf("%s.%d", jobID, i) }

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
