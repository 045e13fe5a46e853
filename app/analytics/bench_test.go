package analytics_test

import (
	"fmt"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
)

// BenchmarkHandleBatch is the SQLite side of page views: one batch of 500
// per iteration, reported per view.
func BenchmarkHandleBatch(b *testing.B) {
	db := MustDB(b)
	r := &analytics.Recorder{DB: db.Write, Site: "bench"}
	at := time.Now().UTC()
	n := 0
	b.ResetTimer()
	for b.Loop() {
		batch := make([]jobs.Job, 500)
		for i := range batch {
			n++
			batch[i] = job(b, fmt.Sprintf("pv-%d", n), analytics.PageView{Path: fmt.Sprintf("/p/%d", n%100), UserAgent: firefox,
				IP: fmt.Sprintf("198.51.%d.%d", n%250, n%97), At: at})
		}
		handle(b, r, batch...)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/view")
}
