package analytics_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
	"site/internal/testkit"
)

// TestSummaryCountsAndMark: each committed batch reports its views by path
// and by country, and its mark: the largest page_view_batches id once it
// committed, so that a reader of the rollups knows which batches it has
// counted. A redelivered batch stores nothing and reports nothing.
func TestSummaryCountsAndMark(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	at := time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC)
	var sums []analytics.Summary
	r := &analytics.Recorder{DB: db.Write, Site: "test", Now: (&clock{t: at}).Now,
		OnCommit: func(s analytics.Summary) { sums = append(sums, s) }}
	var first []jobs.Job
	for i := range 6 {
		first = append(first, job(fmt.Sprintf("a-%d", i), analytics.PageView{Path: fmt.Sprintf("/p/%d", i%2), UserAgent: firefox, IP: "192.0.2.1", At: at}))
	}
	handle(t, r, first...)
	handle(t, r, job("b", analytics.PageView{Path: "/p/9", UserAgent: firefox, IP: "192.0.2.2", At: at}))
	handle(t, r, first[0]) // redelivered: no commit to report
	if len(sums) != 2 {
		t.Fatalf("%d summaries, want 2: %+v", len(sums), sums)
	}
	if want := map[string]int{"/p/0": 3, "/p/1": 3}; !maps.Equal(sums[0].Paths, want) {
		t.Errorf("first batch paths %v, want %v", sums[0].Paths, want)
	}
	if want := map[string]int{"unknown": 6}; !maps.Equal(sums[0].Countries, want) {
		t.Errorf("first batch countries %v, want %v", sums[0].Countries, want)
	}
	if want := map[string]int{"/p/9": 1}; !maps.Equal(sums[1].Paths, want) {
		t.Errorf("second batch paths %v, want %v", sums[1].Paths, want)
	}
	if sums[0].Mark != int64(scalar(t, db.Read, "SELECT max(id) FROM page_view_batches WHERE job_id LIKE 'a-%'")) {
		t.Errorf("first mark %d is not the first batch's last log row", sums[0].Mark)
	}
	if sums[1].Mark <= sums[0].Mark || sums[1].Mark != int64(scalar(t, db.Read, "SELECT max(id) FROM page_view_batches")) {
		t.Errorf("marks %d then %d: want growing, the second the log's last row", sums[0].Mark, sums[1].Mark)
	}
	// What a reader at the first mark has counted is exactly the first batch.
	if n := scalar(t, db.Read, "SELECT sum(views) FROM page_view_batches WHERE id <= ?", sums[0].Mark); n != sums[0].Views {
		t.Errorf("views logged up to the first mark = %d, want %d", n, sums[0].Views)
	}
}
