package analytics_test

import (
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
)

// BenchmarkTrackView is the web role's part of a page view: reading the
// request and adding the view to the current batch, from every core at once
// as the web role's handlers do.
func BenchmarkTrackView(b *testing.B) {
	var sent atomic.Int64
	bt := &analytics.Batcher{Enqueue: func(j jobs.Job) bool { sent.Add(int64(j.Count)); return true }}
	r := httptest.NewRequest("GET", "http://example.org/posts/hello", nil)
	r.RemoteAddr = "203.0.113.9:41234"
	r.Header.Set("User-Agent", firefox)
	r.Header.Set("Referer", "https://news.example/item?id=1")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bt.Add(analytics.FromRequest(r, time.Now()))
		}
	})
	bt.Close()
	if sent.Load() != int64(b.N) {
		b.Fatalf("%d views sent, want %d", sent.Load(), b.N)
	}
}
