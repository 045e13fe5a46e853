package analytics_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"site/app/analytics"
)

func TestFromRequest(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "http://example.org/posts/hello?utm_source=Feed&x=1", nil)
	r.RemoteAddr = "203.0.113.9:41234"
	r.Header.Set("User-Agent", firefox)
	r.Header.Set("Referer", "https://news.example.com/item?id=1")
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("Sec-GPC", "1")
	r.Header.Set("DNT", "1")
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	pv := analytics.FromRequest(r, at)
	want := analytics.PageView{Path: "/posts/hello", Host: "example.org", Referrer: "https://news.example.com/item?id=1",
		UserAgent: firefox, UTMSource: "Feed", At: at, IP: "203.0.113.9", ForwardedFor: "198.51.100.1", DNT: true, GPC: true}
	if pv != want {
		t.Fatalf("FromRequest = %+v\nwant %+v", pv, want)
	}

	// Oversized headers are clipped, so a batch of views stays small.
	long := strings.Repeat("a", 10_000)
	r = httptest.NewRequest("GET", "/"+long, nil)
	r.Header.Set("User-Agent", long)
	r.Header.Set("Referer", "https://x.example/"+long)
	r.Header.Set("X-Forwarded-For", long)
	pv = analytics.FromRequest(r, at)
	if len(pv.Path) > 512 || len(pv.UserAgent) > 1024 || len(pv.Referrer) > 2048 || len(pv.ForwardedFor) > 512 {
		t.Errorf("not clipped: path %d, ua %d, referrer %d, xff %d bytes", len(pv.Path), len(pv.UserAgent), len(pv.Referrer), len(pv.ForwardedFor))
	}
}
