package analytics_test

import (
	"fmt"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
	"site/internal/testkit"
)

// BenchmarkHandleBatch is the worker's side of page views: per iteration,
// 5,000 views in batch jobs of 200 as the web role sends them (built before
// the timer starts), decoded and stored in transactions of tx views;
// reported per view. Visitors come
// from a pool of 1,000 addresses, so most are returning ones.
func BenchmarkHandleBatch(b *testing.B) {
	for _, per := range []int{500, 2000, 5000} {
		b.Run(fmt.Sprintf("tx=%d", per), func(b *testing.B) { benchHandleBatch(b, per) })
	}
}

func benchHandleBatch(b *testing.B, perTx int) {
	db := testkit.DataDB(b)
	r := &analytics.Recorder{DB: db.Write, Site: "bench", MaxViews: perTx}
	at := time.Now().UTC()
	var batches [][]jobs.Job
	n := 0
	for range 40 {
		var batch []jobs.Job
		for range 25 {
			views := make([]analytics.PageView, 200)
			for i := range views {
				n++
				views[i] = analytics.PageView{Path: fmt.Sprintf("/p/%d", n%100), UserAgent: firefox,
					IP: fmt.Sprintf("198.51.%d.%d", n%10, n%100), At: at}
			}
			j := analytics.NewBatchJob(views)
			batch = append(batch, j)
		}
		batches = append(batches, batch)
	}
	views := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i == len(batches) {
			b.StopTimer()
			for _, batch := range batches { // fresh ids, so the next round is stored again
				for k := range batch {
					batch[k].ID = fmt.Sprintf("%s-%d", batch[k].ID, i)
				}
			}
			b.StartTimer()
			i = 0
		}
		handle(b, r, batches[i%len(batches)]...)
		views += 5000
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(views), "ns/view")
}
