package analytics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
	"site/internal/testkit"
)

func TestBatchStoresEachJobOnce(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	var sums []analytics.Summary
	at := time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC)
	clk := &clock{t: at}
	r := &analytics.Recorder{DB: db.Write, Site: "test", Now: clk.Now, OnCommit: func(s analytics.Summary) { sums = append(sums, s) }}
	var batch []jobs.Job
	for i := range 50 {
		pv := analytics.PageView{Path: fmt.Sprintf("/p/%d", i%5), UserAgent: firefox, IP: fmt.Sprintf("192.0.2.%d", i%7), At: at}
		batch = append(batch, job(fmt.Sprintf("pv-%d", i), pv))
	}
	batch = append(batch, batch[3], batch[7]) // the same job twice in one batch
	handle(t, r, batch...)
	handle(t, r, batch[10:20]...) // redelivered after a crash between commit and ack
	if n := scalar(t, db.Read, "SELECT count(*) FROM page_views"); n != 50 {
		t.Fatalf("page_views = %d, want 50", n)
	}
	if n := scalar(t, db.Read, "SELECT count(*) FROM processed_jobs WHERE kind = 'pageview'"); n != 50 {
		t.Fatalf("processed_jobs = %d, want 50", n)
	}
	if n := scalar(t, db.Read, "SELECT sum(views) FROM views_hourly"); n != 50 {
		t.Errorf("hourly rollup counts %d views, want 50", n)
	}
	if n := scalar(t, db.Read, "SELECT sum(views) FROM views_daily WHERE day = '2025-03-01'"); n != 50 {
		t.Errorf("daily rollup counts %d views, want 50", n)
	}
	if n := scalar(t, db.Read, "SELECT views FROM views_daily_by WHERE day = '2025-03-01' AND dim = 'browser' AND value = 'Firefox'"); n != 50 {
		t.Errorf("browser rollup = %d, want 50", n)
	}
	if n := scalar(t, db.Read, "SELECT sum(visitors) FROM views_daily"); n != 7 {
		t.Errorf("visitors = %d, want 7 (seven addresses, one browser)", n)
	}
	if n := scalar(t, db.Read, "SELECT count(*) FROM page_views WHERE country = 'unknown'"); n != 50 {
		t.Errorf("%d views with country unknown, want all 50 (no geo database)", n)
	}
	if len(sums) != 1 || sums[0].Views != 50 || sums[0].Visitors != 7 {
		t.Errorf("OnCommit summaries %+v, want one of 50 views and 7 visitors", sums)
	}
}

func TestVisitorCountsOncePerDay(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	day1 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := &clock{t: day1}
	r := &analytics.Recorder{DB: db.Write, Site: "test", Now: clk.Now}
	same := analytics.PageView{Path: "/", UserAgent: firefox, IP: "198.51.100.7", At: day1}
	handle(t, r, job("a", same))
	same.At, same.Path = day1.Add(3*time.Hour), "/about"
	handle(t, r, job("b", same))
	other := same
	other.IP = "198.51.100.8"
	handle(t, r, job("c", other))
	if n := scalar(t, db.Read, "SELECT sum(new_visitor) FROM page_views WHERE viewed_at < ?", day1.Add(24*time.Hour).UnixMilli()); n != 2 {
		t.Fatalf("day 1: %d new visitors, want 2 (one reader twice, another once)", n)
	}
	v1 := text(t, db.Read, "SELECT visitor FROM page_views WHERE job_id = 'a.0'")
	if v1 == "" || v1 != text(t, db.Read, "SELECT visitor FROM page_views WHERE job_id = 'b.0'") {
		t.Fatalf("same reader, same day: visitor ids differ or are empty")
	}

	day2 := day1.Add(24 * time.Hour)
	clk.t = day2
	same.At = day2
	handle(t, r, job("d", same))
	if n := scalar(t, db.Read, "SELECT new_visitor FROM page_views WHERE job_id = 'd.0'"); n != 1 {
		t.Fatal("the next day the same reader is not a new visitor")
	}
	if v2 := text(t, db.Read, "SELECT visitor FROM page_views WHERE job_id = 'd.0'"); v2 == v1 {
		t.Fatal("the visitor id did not change with the day's salt")
	}
	if n := scalar(t, db.Read, "SELECT sum(visitors) FROM views_daily WHERE day = '2025-03-02'"); n != 1 {
		t.Errorf("day 2 rollup visitors = %d, want 1", n)
	}

	// Three days on, day 1's salt and visitor list are gone.
	clk.t = day1.Add(72*time.Hour + time.Minute)
	same.At = clk.t
	handle(t, r, job("e", same))
	if n := scalar(t, db.Read, "SELECT count(*) FROM visitor_salts WHERE day = '2025-03-01'"); n != 0 {
		t.Error("day 1 salt still stored after 48 h")
	}
	if n := scalar(t, db.Read, "SELECT count(*) FROM daily_visitors WHERE day = '2025-03-01'"); n != 0 {
		t.Error("day 1 visitor list still stored after 48 h")
	}
	if n := scalar(t, db.Read, "SELECT count(*) FROM visitor_salts"); n < 1 {
		t.Error("no salt for today")
	}
}

func TestBotsGoToTheLedger(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	r := &analytics.Recorder{DB: db.Write, Site: "test"}
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	uas := []string{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
		"curl/8.5.0",
		"",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		firefox,
	}
	for i, ua := range uas {
		handle(t, r, job(fmt.Sprintf("b%d", i), analytics.PageView{Path: "/", UserAgent: ua, IP: "203.0.113.1", At: at}))
	}
	if n := scalar(t, db.Read, "SELECT count(*) FROM page_views"); n != 1 {
		t.Fatalf("page_views = %d, want 1 (only the browser)", n)
	}
	for bot, want := range map[string]int{"Googlebot": 2, "GPTBot": 1, "curl": 1, "unknown": 1} {
		if n := scalar(t, db.Read, "SELECT views FROM bot_views WHERE day = '2025-03-01' AND bot = ?", bot); n != want {
			t.Errorf("ledger %s = %d, want %d", bot, n, want)
		}
	}
	if n := scalar(t, db.Read, "SELECT count(*) FROM processed_jobs"); n != len(uas) {
		t.Errorf("processed_jobs = %d, want %d: bot views are done too", n, len(uas))
	}
}

func TestDoNotTrack(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, respect := range []bool{false, true} {
		db := testkit.DataDB(t)
		r := &analytics.Recorder{DB: db.Write, RespectDNT: respect}
		handle(t, r,
			job("dnt", analytics.PageView{Path: "/", UserAgent: firefox, IP: "203.0.113.1", At: at, DNT: true}),
			job("gpc", analytics.PageView{Path: "/", UserAgent: firefox, IP: "203.0.113.1", At: at, GPC: true}),
			job("plain", analytics.PageView{Path: "/", UserAgent: firefox, IP: "203.0.113.1", At: at}))
		want := 3
		if respect {
			want = 1
		}
		if n := scalar(t, db.Read, "SELECT count(*) FROM page_views"); n != want {
			t.Errorf("respect_dnt=%v: page_views = %d, want %d", respect, n, want)
		}
	}
}

func TestDerivedFields(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	r := &analytics.Recorder{DB: db.Write}
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	handle(t, r,
		job("x", analytics.PageView{Path: "/post", Host: "me.example", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
			Referrer: "https://www.news.example/item?id=5&token=secret", UTMSource: " Newsletter ", IP: "203.0.113.9", At: at}),
		job("y", analytics.PageView{Path: "/", Host: "me.example", Referrer: "https://me.example/post", UserAgent: firefox, IP: "203.0.113.9", At: at}))
	var ref, host, utm, browser, osName, device string
	if err := db.Read.QueryRow(`SELECT referrer, referrer_host, utm_source, browser, os, device FROM page_views WHERE job_id = 'x.0'`).
		Scan(&ref, &host, &utm, &browser, &osName, &device); err != nil {
		t.Fatal(err)
	}
	if ref != "https://www.news.example/item" || host != "news.example" || utm != "newsletter" ||
		browser != "Safari" || osName != "iOS" || device != "mobile" {
		t.Errorf("derived %q %q %q %q %q %q", ref, host, utm, browser, osName, device)
	}
	// Neither the user agent nor the address is kept, only what was derived.
	if n := scalar(t, db.Read, "SELECT count(*) FROM page_view_batches WHERE log LIKE '%AppleWebKit%' OR log LIKE '%203.0.113%' OR log LIKE '%secret%'"); n != 0 {
		t.Errorf("%d stored rows hold the user agent, the IP or the referrer's query", n)
	}
	if h := text(t, db.Read, "SELECT referrer_host FROM page_views WHERE job_id = 'y.0'"); h != "" {
		t.Errorf("a link from the site itself has referrer host %q, want none", h)
	}
}

// TestOddPathsReadBackFromTheLog: the views of a batch are kept as JSON in
// one page_view_batches row; paths with quotes, backslashes, control
// characters and bytes that are not UTF-8 read back through page_views
// (the last as U+FFFD), with each view's own id.
func TestOddPathsReadBackFromTheLog(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	r := &analytics.Recorder{DB: db.Write}
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	paths := []string{`/"quoted"`, `/back\slash`, "/tab\there\x01", "/bad\xffbyte", "/ünïcode/日本"}
	var pvs []analytics.PageView
	for _, p := range paths {
		pvs = append(pvs, analytics.PageView{Path: p, UserAgent: firefox, IP: "192.0.2.1", At: at})
	}
	j := analytics.NewBatchJob(pvs)
	handle(t, r, j)
	if n := scalar(t, db.Read, "SELECT count(*) FROM page_view_batches WHERE views = 5 AND base_at = ?", at.UnixMilli()); n != 1 {
		t.Fatalf("%d batch rows of 5 views from %d, want 1", n, at.UnixMilli())
	}
	// Each string is written once: 5 paths, "" (the referrer, city, … and
	// the visitor: the views are older than the salts kept), the country,
	// browser, OS and device.
	if n := scalar(t, db.Read, "SELECT json_array_length(strings) FROM page_view_batches"); n != 10 {
		t.Errorf("the row holds %d strings, want 10", n)
	}
	for i, p := range paths {
		want := strings.ToValidUTF8(p, "\uFFFD")
		if got := text(t, db.Read, "SELECT path FROM page_views WHERE job_id = ?", viewID(j.ID, i)); got != want {
			t.Errorf("view %d: path %q, want %q", i, got, want)
		}
	}
}
