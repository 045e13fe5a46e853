package stats_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/content"
	"site/app/jobs"
	"site/app/stats"
	"site/app/store"
	"site/internal/testkit"
)

const (
	firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	iphone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	googleb = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// record stores views through the worker's real path (analytics.Recorder,
// one batch job per call), its clock at the last view's time so that every
// view gets a visitor id.
func record(tb testing.TB, db *store.DB, views ...analytics.PageView) {
	tb.Helper()
	if len(views) == 0 {
		return
	}
	now := views[len(views)-1].At.Add(time.Second)
	r := &analytics.Recorder{DB: db.Write, Site: "test", Now: func() time.Time { return now }}
	if err := r.HandleBatch(context.Background(), []jobs.Job{analytics.NewBatchJob(views)}); err != nil {
		tb.Fatal(err)
	}
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseRange(t *testing.T) {
	now := time.Date(2025, 6, 15, 13, 30, 0, 0, time.UTC)
	good := []struct {
		kind, from, to   string
		wantFrom, wantTo string
		step             stats.Step
	}{
		{"", "", "", "2025-05-17", "2025-06-15", stats.Day},
		{"day", "2020-01-01", "", "2025-06-15", "2025-06-15", stats.Hour},
		{"week", "", "", "2025-06-09", "2025-06-15", stats.Day},
		{"month", "", "", "2025-05-17", "2025-06-15", stats.Day},
		{"year", "", "", "2024-06-16", "2025-06-15", stats.Day},
		{"custom", "2025-06-01", "2025-06-01", "2025-06-01", "2025-06-01", stats.Hour},
		{"custom", "2022-06-16", "2025-06-15", "2022-06-16", "2025-06-15", stats.Week},
		{"custom", "2024-05-12", "2025-06-15", "2024-05-12", "2025-06-15", stats.Day},
		{"custom", "2024-05-11", "2025-06-15", "2024-05-11", "2025-06-15", stats.Week},
	}
	for _, c := range good {
		r, err := stats.ParseRange(c.kind, c.from, c.to, now)
		if err != nil {
			t.Errorf("%q %q %q: %v", c.kind, c.from, c.to, err)
			continue
		}
		if r.FromDay() != c.wantFrom || r.ToDay() != c.wantTo || r.Step() != c.step {
			t.Errorf("%q %q %q = %s..%s step %d, want %s..%s step %d", c.kind, c.from, c.to, r.FromDay(), r.ToDay(), r.Step(),
				c.wantFrom, c.wantTo, c.step)
		}
	}
	bad := []struct{ kind, from, to, says string }{
		{"fortnight", "", "", "is not a range"},
		{"custom", "", "2025-06-01", "needs both"},
		{"custom", "2025-6-1", "2025-06-02", "not a date"},
		{"custom", "2025-06-01", "June 2", "not a date"},
		{"custom", "2025-02-30", "2025-03-02", "not a date"},
		{"custom", "2025-06-10", "2025-06-09", "comes before"},
		{"custom", "2025-06-10", "2025-06-16", "after today"},
		{"custom", "2022-06-15", "2025-06-15", "1097 days"},
		{"custom", "1999-12-31", "2000-01-02", "before the year 2000"},
	}
	for _, c := range bad {
		_, err := stats.ParseRange(c.kind, c.from, c.to, now)
		var br *stats.BadRange
		if !errors.As(err, &br) || !strings.Contains(br.Reason, c.says) {
			t.Errorf("%q %q %q: %v, want a BadRange saying %q", c.kind, c.from, c.to, err, c.says)
		}
	}
	r, _ := stats.ParseRange("week", "", "", now)
	if p := r.Previous(); p.FromDay() != "2025-06-02" || p.ToDay() != "2025-06-08" {
		t.Errorf("week before: %s..%s", p.FromDay(), p.ToDay())
	}
}

// TestReportsOfAFewViews: every figure of a report, for views whose sums
// are counted by hand, stored through the worker's recording path.
func TestReportsOfAFewViews(t *testing.T) {
	db := testkit.DataDB(t)
	ctx := t.Context()
	posts := content.NewStore(db)
	for _, p := range []*content.Post{
		{Kind: content.KindPost, Slug: "hello", Title: "Hello", Status: content.StatusPublished, PublishedAt: day("2025-01-01")},
		{Kind: content.KindProject, Slug: "tool", Title: "A tool", Status: content.StatusPublished, PublishedAt: day("2025-01-01")},
		{Kind: content.KindPost, Slug: "secret", Title: "Secret draft", Status: content.StatusDraft},
		{Kind: content.KindPost, Slug: "quiet", Title: "Quiet", Status: content.StatusPublished, PublishedAt: day("2025-01-01")},
	} {
		if _, err := posts.Save(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 10 June (the previous day): one reader, two views.
	record(t, db,
		analytics.PageView{Path: "/posts/hello", UserAgent: firefox, IP: "192.0.2.1", At: at("2025-06-10 08:00:00")},
		analytics.PageView{Path: "/", UserAgent: firefox, IP: "192.0.2.1", At: at("2025-06-10 08:05:00")},
	)
	// 11 June: reader A (Firefox) three views from news.example with
	// utm_source=Mail, then the same reader again; reader B (iPhone) two
	// views; reader C (a draft's address, iPhone); a bot twice.
	record(t, db,
		analytics.PageView{Path: "/posts/hello", UserAgent: firefox, IP: "192.0.2.1", Referrer: "https://www.news.example/item?id=1",
			UTMSource: "Mail", At: at("2025-06-11 09:10:00")},
		analytics.PageView{Path: "/projects/tool", UserAgent: firefox, IP: "192.0.2.1", At: at("2025-06-11 09:20:00")},
		analytics.PageView{Path: "/posts/hello", UserAgent: firefox, IP: "192.0.2.1", At: at("2025-06-11 09:30:00")},
		analytics.PageView{Path: "/posts/hello", UserAgent: iphone, IP: "192.0.2.2", Referrer: "https://search.example/",
			At: at("2025-06-11 14:00:00")},
		analytics.PageView{Path: "/", UserAgent: iphone, IP: "192.0.2.2", At: at("2025-06-11 14:01:00")},
		analytics.PageView{Path: "/posts/secret", UserAgent: iphone, IP: "192.0.2.3", At: at("2025-06-11 23:59:00")},
		analytics.PageView{Path: "/posts/hello", UserAgent: googleb, IP: "66.249.66.1", At: at("2025-06-11 03:00:00")},
		analytics.PageView{Path: "/", UserAgent: googleb, IP: "66.249.66.1", At: at("2025-06-11 03:00:01")},
	)
	rep := &stats.Reports{DB: db.Read}
	cur := stats.Range{Kind: stats.KindDay, From: day("2025-06-11"), To: day("2025-06-11")}

	tot, err := rep.Totals(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	if want := (stats.Totals{Views: 6, Visitors: 3, Bots: 2}); tot != want {
		t.Errorf("totals %+v, want %+v", tot, want)
	}
	prev, err := rep.Totals(ctx, cur.Previous())
	if err != nil {
		t.Fatal(err)
	}
	if want := (stats.Totals{Views: 2, Visitors: 1}); prev != want {
		t.Errorf("previous day %+v, want %+v", prev, want)
	}

	series, err := rep.Series(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 24 || series[9].Views != 3 || series[9].Visitors != 1 || series[14].Views != 2 ||
		series[14].Visitors != 1 || series[23].Views != 1 || series[3].Views != 0 || !series[9].Start.Equal(at("2025-06-11 09:00:00")) {
		t.Errorf("hourly series %+v", series)
	}
	two := stats.Range{Kind: stats.KindCustom, From: day("2025-06-10"), To: day("2025-06-11")}
	series, err = rep.Series(ctx, two)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Views != 2 || series[0].Visitors != 1 || series[1].Views != 6 || series[1].Visitors != 3 {
		t.Errorf("daily series %+v", series)
	}

	want := map[string][]stats.Row{
		"pages": {{Key: "/posts/hello", Views: 3, Visitors: 2}, {Key: "/", Views: 1}, {Key: "/posts/secret", Views: 1, Visitors: 1},
			{Key: "/projects/tool", Views: 1}},
		"posts": {{Key: "/posts/hello", Title: "Hello", Views: 3, Visitors: 2}, {Key: "/projects/tool", Title: "A tool", Views: 1},
			{Key: "/posts/quiet", Title: "Quiet"}},
		"referrers": {{Key: "news.example", Views: 1, Visitors: 1}, {Key: "search.example", Views: 1, Visitors: 1}},
		"utm":       {{Key: "mail", Views: 1, Visitors: 1}},
		"countries": {{Key: "unknown", Views: 6, Visitors: 3}},
		"browsers":  {{Key: "Firefox", Views: 3, Visitors: 1}, {Key: "Safari", Views: 3, Visitors: 2}},
		"os":        {{Key: "Linux", Views: 3, Visitors: 1}, {Key: "iOS", Views: 3, Visitors: 2}},
		"devices":   {{Key: "desktop", Views: 3, Visitors: 1}, {Key: "mobile", Views: 3, Visitors: 2}},
		"bots":      {{Key: "Googlebot", Views: 2}},
	}
	for _, table := range stats.Tables {
		got, err := rep.Top(ctx, cur, table, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[table.Name]) {
			t.Errorf("%s = %+v\nwant %+v", table.Name, got, want[table.Name])
		}
	}
	o, err := rep.Overview(ctx, cur, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if o.Totals != tot || o.PreviousTotals != prev || len(o.Series) != 24 || o.Series[9].Views != 3 || len(o.PreviousSeries) != 24 ||
		o.PreviousSeries[8].Views != 2 || len(o.Tables) != len(stats.Tables) || !reflect.DeepEqual(o.Tables[0], want["pages"]) ||
		!reflect.DeepEqual(o.Tables[8], want["bots"]) {
		t.Errorf("overview %+v", o)
	}
	pages, _ := stats.TableNamed("pages")
	if got, _ := rep.Top(ctx, cur, pages, 2); len(got) != 2 || got[0].Key != "/posts/hello" {
		t.Errorf("top 2 pages = %+v", got)
	}
	if got, _ := rep.Top(ctx, cur.Previous(), pages, 0); len(got) != 2 {
		t.Errorf("pages of the previous day = %+v, want / and /posts/hello", got)
	}
}

// TestMonthsAndDaysAgreeWithDays: for ranges of every length and
// alignment, the reports read from months plus days (and minus days) equal
// those read from days alone, over views recorded on 430 days.
func TestMonthsAndDaysAgreeWithDays(t *testing.T) {
	db := testkit.DataDB(t)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	first := day("2024-03-01")
	agents := []string{firefox, iphone, googleb}
	for d := range 430 {
		var views []analytics.PageView
		for i := range 4 + rng.IntN(6) {
			views = append(views, analytics.PageView{
				Path: fmt.Sprintf("/p/%d", rng.IntN(12)), UserAgent: agents[rng.IntN(3)],
				IP: fmt.Sprintf("192.0.2.%d", rng.IntN(20)), Referrer: fmt.Sprintf("https://r%d.example/", rng.IntN(5)),
				UTMSource: fmt.Sprintf("s%d", rng.IntN(3)),
				At:        first.AddDate(0, 0, d).Add(time.Duration(i)*time.Hour + time.Duration(rng.IntN(3600))*time.Second),
			})
		}
		record(t, db, views...)
	}
	fast, slow := &stats.Reports{DB: db.Read}, stats.DaysOnly(&stats.Reports{DB: db.Read})
	ranges := []stats.Range{
		{From: day("2024-03-01"), To: day("2025-04-30")},
		{From: day("2024-03-02"), To: day("2025-04-29")},
		{From: day("2024-03-31"), To: day("2024-04-01")},
		{From: day("2024-04-15"), To: day("2024-04-16")},
		{From: day("2024-04-02"), To: day("2024-04-30")},
		{From: day("2024-02-20"), To: day("2024-03-10")},
	}
	for range 40 {
		from := first.AddDate(0, 0, rng.IntN(440)-5)
		ranges = append(ranges, stats.Range{From: from, To: from.AddDate(0, 0, rng.IntN(400))})
	}
	// Ranges asked on a day, whose plans count no data after it (there is
	// some here: the answers must not change).
	for _, now := range []string{"2024-04-15", "2024-05-31", "2024-06-01", "2025-02-14", "2025-03-16"} {
		for _, kind := range []string{stats.KindWeek, stats.KindMonth, stats.KindYear} {
			r, err := stats.ParseRange(kind, "", "", day(now).Add(13*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			ranges = append(ranges, r, r.Previous())
		}
		r, err := stats.ParseRange(stats.KindCustom, "2024-03-16", now, day(now))
		if err != nil {
			t.Fatal(err)
		}
		ranges = append(ranges, r)
	}
	for _, r := range ranges {
		name := r.FromDay() + ".." + r.ToDay()
		a, err := fast.Totals(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		b, err := slow.Totals(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("%s: totals %+v, from days %+v", name, a, b)
		}
		sa, _ := fast.Series(ctx, r)
		sb, _ := slow.Series(ctx, r)
		if !reflect.DeepEqual(sa, sb) {
			t.Errorf("%s: series differ", name)
		}
		for _, table := range stats.Tables {
			ra, err := fast.Top(ctx, r, table, 0)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := slow.Top(ctx, r, table, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ra, rb) {
				t.Errorf("%s %s: %+v\nfrom days: %+v", name, table.Name, ra, rb)
			}
		}
	}
	all := stats.Range{From: first, To: first.AddDate(0, 0, 429)}
	tot, _ := fast.Totals(ctx, all)
	if tot.Views == 0 || tot.Bots == 0 {
		t.Fatalf("nothing recorded: %+v", tot)
	}
}

// TestWeeksCountBackFromTheLastDay: a long range's weeks end on its last
// day; the first week holds what is left.
func TestWeeksCountBackFromTheLastDay(t *testing.T) {
	db := testkit.DataDB(t)
	from, to := day("2024-01-01"), day("2025-03-01") // 426 days: 60 weeks and 6 days
	var views []analytics.PageView
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		views = append(views, analytics.PageView{Path: "/", UserAgent: firefox, IP: "192.0.2.1", At: d.Add(12 * time.Hour)})
	}
	for _, v := range views {
		record(t, db, v)
	}
	series, err := (&stats.Reports{DB: db.Read}).Series(t.Context(), stats.Range{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 61 || series[0].Days != 6 || series[60].Days != 7 || series[60].Views != 7 ||
		!series[60].Start.Equal(to.AddDate(0, 0, -6)) || series[0].Views != int64(series[0].Days) {
		t.Fatalf("weeks: %d points, first %+v, last %+v", len(series), series[0], series[len(series)-1])
	}
	if i := slices.IndexFunc(series, func(p stats.Point) bool { return p.Visitors != int64(p.Days) }); i >= 0 {
		t.Errorf("week %d: %+v, want one visitor a day", i, series[i])
	}
}
