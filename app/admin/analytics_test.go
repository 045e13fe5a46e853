package admin_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"site/app/admin"
	"site/app/analytics"
	"site/app/content"
	"site/app/jobs"
	"site/internal/browsertest"
)

const (
	uaFirefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaBot     = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// analyticsNow is the panel's clock in these tests: 11 June 2025 is today.
var analyticsNow = time.Date(2025, 6, 11, 20, 0, 0, 0, time.UTC)

// analyticsPanel is the panel, its clock at analyticsNow, with a
// signed-in admin's browser.
func analyticsPanel(t *testing.T) (*panel, *http.Client) {
	t.Helper()
	p := newPanel(t, func(a *admin.Admin) { a.Now = func() time.Time { return analyticsNow } })
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	return p, p.client(t, "owner@example.org")
}

// recordViews stores views through the worker's recording path
// (analytics.Recorder, one batch job), its clock just after the last one.
func recordViews(t testing.TB, p *panel, views ...analytics.PageView) {
	t.Helper()
	now := views[len(views)-1].At.Add(time.Second)
	r := &analytics.Recorder{DB: p.admin.Data.Write, Site: "test", Now: func() time.Time { return now }}
	if err := r.HandleBatch(context.Background(), []jobs.Job{analytics.NewBatchJob(views)}); err != nil {
		t.Fatal(err)
	}
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateTime, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// seedAnalytics writes three entries (one a draft) and the views whose
// figures the tests count by hand:
//
//	10 June: one reader (Firefox), /posts/hello and /.
//	11 June: reader A (Firefox, from news.example, utm_source=Mail)
//	  /posts/hello, /projects/tool, /posts/hello; reader B (iPhone, from
//	  search.example) /posts/hello and /; reader C (iPhone) the draft's
//	  address; Googlebot twice.
//
// So 11 June has 6 views, 3 visitors and 2 bot views; 10 June 2 and 1.
func seedAnalytics(t *testing.T, p *panel) {
	t.Helper()
	for _, e := range []*content.Post{
		{Kind: content.KindPost, Slug: "hello", Title: "Hello", Status: content.StatusPublished, PublishedAt: at(t, "2025-01-01 00:00:00")},
		{Kind: content.KindProject, Slug: "tool", Title: "A tool", Status: content.StatusPublished, PublishedAt: at(t, "2025-01-01 00:00:00")},
		{Kind: content.KindPost, Slug: "secret", Title: "Secret draft", Status: content.StatusDraft},
	} {
		if _, err := p.admin.Content.Save(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	recordViews(t, p,
		analytics.PageView{Path: "/posts/hello", UserAgent: uaFirefox, IP: "192.0.2.1", At: at(t, "2025-06-10 08:00:00")},
		analytics.PageView{Path: "/", UserAgent: uaFirefox, IP: "192.0.2.1", At: at(t, "2025-06-10 08:05:00")},
	)
	recordViews(t, p,
		analytics.PageView{Path: "/posts/hello", UserAgent: uaFirefox, IP: "192.0.2.1", Referrer: "https://www.news.example/item?id=1",
			UTMSource: "Mail", At: at(t, "2025-06-11 09:10:00")},
		analytics.PageView{Path: "/projects/tool", UserAgent: uaFirefox, IP: "192.0.2.1", At: at(t, "2025-06-11 09:20:00")},
		analytics.PageView{Path: "/posts/hello", UserAgent: uaFirefox, IP: "192.0.2.1", At: at(t, "2025-06-11 09:30:00")},
		analytics.PageView{Path: "/posts/hello", UserAgent: uaIPhone, IP: "192.0.2.2", Referrer: "https://search.example/",
			At: at(t, "2025-06-11 14:00:00")},
		analytics.PageView{Path: "/", UserAgent: uaIPhone, IP: "192.0.2.2", At: at(t, "2025-06-11 14:01:00")},
		analytics.PageView{Path: "/posts/secret", UserAgent: uaIPhone, IP: "192.0.2.3", At: at(t, "2025-06-11 19:59:00")},
		analytics.PageView{Path: "/posts/hello", UserAgent: uaBot, IP: "66.249.66.1", At: at(t, "2025-06-11 03:00:00")},
		analytics.PageView{Path: "/", UserAgent: uaBot, IP: "66.249.66.1", At: at(t, "2025-06-11 03:00:01")},
	)
}

// section is the HTML of the overview's table called name.
func section(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section class="analytics-table" aria-labelledby="table-` + name + `">.*?</section>`).FindString(body)
	if m == "" {
		t.Fatalf("no table %s on the page", name)
	}
	return m
}

// rowRE matches a table row: its key cell's text, then its figures.
func row(key string, figures ...string) *regexp.Regexp {
	s := `<td class="key">(?:<a [^>]*>[^<]*</a> <span class="help">)?` + regexp.QuoteMeta(key) + `(?:</span>)?</td>`
	for _, f := range figures {
		s += `<td class="num">` + regexp.QuoteMeta(f) + `</td>`
	}
	return regexp.MustCompile(s)
}

// TestAnalyticsFigures: the overview of 11 June shows the figures counted
// by hand, each beside 10 June's, in the totals, the charts and every table.
func TestAnalyticsFigures(t *testing.T) {
	p, c := analyticsPanel(t)
	seedAnalytics(t, p)
	code, body := get(t, c, p.URL+"/admin/analytics?range=day")
	if code != 200 {
		t.Fatalf("overview: %d\n%s", code, body)
	}
	for _, want := range []string{
		`<strong>11 June 2025</strong>, compared with the previous period, 10 June 2025.`,
		`<span class="figure-label">Views</span> <strong class="figure-value">6</strong> <span class="figure-change change-up">+200.0%</span> <span class="help">previous period: 2</span>`,
		`<span class="figure-label">Unique visitors</span> <strong class="figure-value">3</strong> <span class="figure-change change-up">+200.0%</span> <span class="help">previous period: 1</span>`,
		`<span class="figure-label">Bot views</span> <strong class="figure-value">2</strong> <span class="figure-change change-up">new</span>`,
		`unique visitors are the sum of each day's unique visitors`,
		`aria-label="Views per hour, 11 June 2025: 6 in total, highest 3 (11 June 09:00–10:00). Previous period, 10 June 2025: 2 in total."`,
		`aria-label="Unique visitors per hour, 11 June 2025: 3 in total`,
		`<th scope="row">11 June 09:00–10:00</th><td>3</td><td>1</td><td>10 June 09:00–10:00</td><td>0</td><td>0</td>`,
		`<th scope="row">11 June 08:00–09:00</th><td>0</td><td>0</td><td>10 June 08:00–09:00</td><td>2</td><td>1</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	if n := strings.Count(body, `<polyline class="chart-prev"`); n != 2 {
		t.Errorf("%d charts draw the previous period, want 2", n)
	}
	if strings.Contains(body, "style=") {
		t.Errorf("a style attribute: the CSP refuses inline styles")
	}
	tables := map[string][]*regexp.Regexp{
		"pages":     {row("/posts/hello", "3", "2"), row("/", "1", "0"), row("/posts/secret", "1", "1"), row("/projects/tool", "1", "0")},
		"posts":     {row("/posts/hello", "3", "2"), row("/projects/tool", "1", "0")},
		"referrers": {row("news.example", "1", "1"), row("search.example", "1", "1")},
		"utm":       {row("mail", "1", "1")},
		"countries": {row("unknown", "6", "3")},
		"browsers":  {row("Firefox", "3", "1"), row("Safari", "3", "2")},
		"os":        {row("Linux", "3", "1"), row("iOS", "3", "2")},
		"devices":   {row("desktop", "3", "1"), row("mobile", "3", "2")},
		"bots":      {row("Googlebot", "2")},
	}
	for name, rows := range tables {
		sec := section(t, body, name)
		for _, re := range rows {
			if !re.MatchString(sec) {
				t.Errorf("table %s lacks the row %s", name, re)
			}
		}
		if got := strings.Count(sec, "<tr>") - 1; got != len(rows) {
			t.Errorf("table %s has %d rows, want %d", name, got, len(rows))
		}
		if !strings.Contains(sec, `href="/admin/analytics/`+name+`?range=day"`) || !strings.Contains(sec, `href="/admin/analytics.csv?range=day&amp;table=`+name+`"`) {
			t.Errorf("table %s lacks its links", name)
		}
	}
	posts := section(t, body, "posts")
	if !strings.Contains(posts, `<a href="/posts/hello">Hello</a>`) || strings.Contains(posts, "Secret") {
		t.Errorf("posts table: titles linked, drafts left out:\n%s", posts)
	}
	if !strings.Contains(section(t, body, "pages"), `<rect width="33.3" height="8">`) {
		t.Errorf("bars: a page with a third of the top views draws a third of the bar")
	}

	// The week: both days, each in its place, against the week before.
	_, body = get(t, c, p.URL+"/admin/analytics?range=week")
	for _, want := range []string{
		`<strong>5 June – 11 June 2025</strong>, compared with the previous period, 29 May – 4 June 2025.`,
		`<strong class="figure-value">8</strong> <span class="figure-change change-up">new</span>`,
		`<strong class="figure-value">4</strong>`,
		`<th scope="row">10 June 2025</th><td>2</td><td>1</td><td>3 June 2025</td><td>0</td><td>0</td>`,
		`<th scope="row">11 June 2025</th><td>6</td><td>3</td><td>4 June 2025</td><td>0</td><td>0</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("week lacks %s", want)
		}
	}
	if !row("/posts/hello", "4", "3").MatchString(section(t, body, "pages")) {
		t.Errorf("week: /posts/hello has 4 views and 3 entrances")
	}
	for _, q := range []string{"range=month", "range=year", "range=custom&from=2023-06-12&to=2025-06-11", "range=custom&from=2025-06-10&to=2025-06-10"} {
		if code, body := get(t, c, p.URL+"/admin/analytics?"+q); code != 200 || !strings.Contains(body, `class="chart"`) {
			t.Errorf("%s: %d, or no chart", q, code)
		}
	}
	_, body = get(t, c, p.URL+"/admin/analytics?range=custom&from=2025-06-10&to=2025-06-10")
	if !strings.Contains(body, `<strong class="figure-value">2</strong> <span class="figure-change change-up">new</span>`) {
		t.Errorf("10 June alone: 2 views, none the day before")
	}
}

// TestAnalyticsTablePage: a table's own page lists its rows up to the cap
// and says so when it cuts; the CSV has every row.
func TestAnalyticsTablePage(t *testing.T) {
	p, c := analyticsPanel(t)
	var views []analytics.PageView
	for i := range 1003 {
		views = append(views, analytics.PageView{Path: fmt.Sprintf("/p/%04d", i), UserAgent: uaFirefox, IP: "192.0.2.9",
			At: at(t, "2025-06-11 10:00:00")})
	}
	views = append(views, analytics.PageView{Path: "/p/0500", UserAgent: uaFirefox, IP: "192.0.2.9", At: at(t, "2025-06-11 10:00:01")})
	recordViews(t, p, views...)
	code, body := get(t, c, p.URL+"/admin/analytics/pages?range=day")
	if code != 200 {
		t.Fatalf("pages: %d", code)
	}
	if n := strings.Count(body, `<td class="key">`); n != 1000 {
		t.Errorf("%d rows, want the cap of 1000", n)
	}
	if !strings.Contains(body, "Only the first 1000 rows are shown; the CSV has them all.") || !row("/p/0500", "2", "0").MatchString(body) {
		t.Errorf("no notice of the cut, or /p/0500 (2 views) not listed")
	}
	if i, j := strings.Index(body, ">/p/0500<"), strings.Index(body, ">/p/0000<"); i < 0 || j < 0 || i > j {
		t.Errorf("the most viewed page is not first")
	}
	resp, err := c.Get(p.URL + "/admin/analytics.csv?table=pages&range=day")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1004 || strings.Join(recs[0], ",") != "Page,Views,Entrances" || strings.Join(recs[1], ",") != "/p/0500,2,0" {
		t.Errorf("CSV: %d records, first %v %v", len(recs), recs[0], recs[1])
	}
	if _, body := get(t, c, p.URL+"/admin/analytics/bots?range=day"); !strings.Contains(body, "None in this period.") {
		t.Errorf("bots page without bots: no empty state")
	}
}

// TestAnalyticsCSV: every table and the series download as CSV, named by
// table and range, every row, and a cell that a spreadsheet would run as a
// formula is defused with a leading quote.
func TestAnalyticsCSV(t *testing.T) {
	p, c := analyticsPanel(t)
	seedAnalytics(t, p)
	recordViews(t, p,
		analytics.PageView{Path: "/=cmd|' /C calc'!A0", UserAgent: uaFirefox, IP: "192.0.2.5", UTMSource: "=HYPERLINK(\"http://evil.example\")",
			Referrer: "https://-2+3.example/", At: at(t, "2025-06-11 12:00:00")},
		analytics.PageView{Path: "/@sum", UserAgent: uaFirefox, IP: "192.0.2.5", UTMSource: "+1", At: at(t, "2025-06-11 12:01:00")},
	)
	fetch := func(query string) (*http.Response, [][]string) {
		t.Helper()
		resp, err := c.Get(p.URL + "/admin/analytics.csv?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		recs, err := csv.NewReader(resp.Body).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return resp, recs
	}
	resp, recs := fetch("table=utm&range=day")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=utm-2025-06-11-2025-06-11.csv` {
		t.Fatalf("utm CSV: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	want := [][]string{{"utm_source", "Views", "Visitors"}, {"'+1", "1", "0"}, {`'=hyperlink("http://evil.example")`, "1", "1"}, {"mail", "1", "1"}}
	if fmt.Sprint(recs) != fmt.Sprint(want) {
		t.Errorf("utm CSV:\n%v\nwant\n%v", recs, want)
	}
	_, recs = fetch("table=pages&range=day")
	found := map[string]bool{}
	for _, r := range recs {
		found[r[0]] = true
	}
	if !found[`/=cmd|' /C calc'!A0`] || !found["/@sum"] { // paths begin with /: nothing to defuse
		t.Errorf("pages CSV lacks the odd paths: %v", recs)
	}
	_, recs = fetch("table=referrers&range=day")
	if fmt.Sprint(recs[1:]) != fmt.Sprint([][]string{{"'-2+3.example", "1", "1"}, {"news.example", "1", "1"}, {"search.example", "1", "1"}}) {
		t.Errorf("referrers CSV: %v", recs)
	}
	_, recs = fetch("table=posts&range=week")
	if fmt.Sprint(recs) != fmt.Sprint([][]string{{"Path", "Title", "Views", "Entrances"}, {"/posts/hello", "Hello", "4", "3"}, {"/projects/tool", "A tool", "1", "0"}}) {
		t.Errorf("posts CSV: %v", recs)
	}
	_, recs = fetch("table=bots&range=day")
	if fmt.Sprint(recs) != fmt.Sprint([][]string{{"Bot", "Views"}, {"Googlebot", "2"}}) {
		t.Errorf("bots CSV: %v", recs)
	}
	resp, recs = fetch("table=series&range=day")
	if len(recs) != 25 || strings.Join(recs[10], ",") != "2025-06-11T09:00:00Z,0,3,1,2025-06-10T09:00:00Z,0,0" ||
		strings.Join(recs[9], ",") != "2025-06-11T08:00:00Z,0,0,0,2025-06-10T08:00:00Z,2,1" {
		t.Errorf("series CSV: %d records, %v %v", len(recs), recs[9], recs[10])
	}
	if resp.Header.Get("Content-Disposition") != `attachment; filename=series-2025-06-11-2025-06-11.csv` {
		t.Errorf("series file name %q", resp.Header.Get("Content-Disposition"))
	}
	_, recs = fetch("table=series&range=custom&from=2025-06-10&to=2025-06-11")
	if len(recs) != 3 || strings.Join(recs[1], ",") != "2025-06-10,1,2,1,2025-06-08,0,0" || strings.Join(recs[2], ",") != "2025-06-11,1,8,4,2025-06-09,0,0" {
		t.Errorf("daily series CSV: %v", recs)
	}
}

// TestAnalyticsBadQueries: a range or table the pages cannot show is a 400
// whose page says why, with the range chooser to try again; never a 500.
func TestAnalyticsBadQueries(t *testing.T) {
	p, c := analyticsPanel(t)
	seedAnalytics(t, p)
	cases := []struct{ query, says string }{
		{"/admin/analytics?range=fortnight", `&#34;fortnight&#34; is not a range`},
		{"/admin/analytics?range=custom", "A custom range needs both a first and a last day."},
		{"/admin/analytics?range=custom&from=2025-06-01", "needs both"},
		{"/admin/analytics?range=custom&from=2025-6-1&to=2025-06-02", "is not a date written as YYYY-MM-DD"},
		{"/admin/analytics?range=custom&from=2025-06-01&to=yesterday", "is not a date written as YYYY-MM-DD"},
		{"/admin/analytics?range=custom&from=2025-02-29&to=2025-03-01", "is not a date"},
		{"/admin/analytics?range=custom&from=2025-06-10&to=2025-06-01", "The last day (2025-06-01) comes before the first (2025-06-10)."},
		{"/admin/analytics?range=custom&from=2025-06-01&to=2025-06-12", "is after today (2025-06-11)"},
		{"/admin/analytics?range=custom&from=2020-01-01&to=2025-06-11", "the longest allowed is 1096 days (three years)"},
		{"/admin/analytics?range=custom&from=0001-01-01&to=2025-06-11", "before the year 2000"},
		{"/admin/analytics?range=" + strings.Repeat("x", 5000), "is not a range"},
		{"/admin/analytics/nope?range=day", `There is no table &#34;nope&#34;`},
		{"/admin/analytics/pages?range=week&from=x&to=y", ""}, // presets ignore the dates: fine
		{"/admin/analytics/pages?range=custom&from=2025-06-02&to=2025-06-01", "comes before"},
		{"/admin/analytics.csv?range=day", `There is no table &#34;&#34; to export`},
		{"/admin/analytics.csv?table=secrets&range=day", `There is no table &#34;secrets&#34; to export`},
		{"/admin/analytics.csv?table=pages&range=forever", "is not a range"},
		{"/admin/analytics.csv?table=series&range=custom&from=2025-06-02", "needs both"},
	}
	for _, tc := range cases {
		code, body := get(t, c, p.URL+tc.query)
		if tc.says == "" {
			if code != 200 {
				t.Errorf("%s: %d, want 200", tc.query, code)
			}
			continue
		}
		if code != 400 || !strings.Contains(body, tc.says) || !strings.Contains(body, `role="alert"`) ||
			!strings.Contains(body, `<select name="range">`) {
			t.Errorf("%s: %d, want 400 saying %q\n%.400s", tc.query, code, tc.says, body)
		}
		if strings.Contains(body, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") {
			t.Errorf("%s: the page repeats the whole of a long input", tc.query[:60])
		}
	}
}

// TestAnalyticsEmpty: with no views at all the overview says so instead of
// drawing empty charts, and every table says it has nothing.
func TestAnalyticsEmpty(t *testing.T) {
	p, c := analyticsPanel(t)
	for _, q := range []string{"range=day", "range=year", ""} {
		code, body := get(t, c, p.URL+"/admin/analytics?"+q)
		if code != 200 || !strings.Contains(body, "No page views were recorded in this period or the one before it.") {
			t.Errorf("%s: %d, no empty state", q, code)
		}
		if strings.Contains(body, `class="chart"`) || strings.Contains(body, "<polyline") {
			t.Errorf("%s: a chart of nothing", q)
		}
		if n := strings.Count(body, "None in this period."); n != 9 {
			t.Errorf("%s: %d tables say they are empty, want 9", q, n)
		}
	}
	_, body := get(t, c, p.URL+"/admin/analytics")
	if !strings.Contains(body, `<option value="month" selected>`) {
		t.Errorf("the default range is not the last 30 days")
	}
}

// TestAnalyticsAccessible runs axe-core on the analytics pages with
// figures in them (the route walk of TestAdminPagesAccessible sees them
// empty): charts, tables, a table's own page and a refused range.
func TestAnalyticsAccessible(t *testing.T) {
	ctx := browsertest.Browser(t)
	p, _ := analyticsPanel(t)
	seedAnalytics(t, p)
	u, err := p.auth.GrantAdmin(t.Context(), "owner@example.org")
	if err != nil {
		t.Fatal(err)
	}
	token, err := p.auth.NewSession(t.Context(), u, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "session", Value: token, URL: p.URL}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/admin/analytics?range=day",
		"/admin/analytics?range=week",
		"/admin/analytics/posts?range=week",
		"/admin/analytics?range=custom&from=2025-06-12&to=2025-06-01",
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		found, err := browsertest.Axe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range found {
			t.Errorf("%s: %s (%s): %s at %v", path, v.ID, v.Impact, v.Description, v.Nodes)
		}
	}
	// The charts are drawn and laid out: each line spans most of the page's
	// width, and the bars stand beside their rows.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL+"/admin/analytics?range=day"), chromedp.WaitVisible(chromedp.CSS("svg.chart"))); err != nil {
		t.Fatal(err)
	}
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[...document.querySelectorAll("svg.chart polyline.chart-cur, svg.bar rect")].map(e => e.getBoundingClientRect().width)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(widths) < 4 || widths[0] < 200 || widths[1] < 200 || widths[2] <= 0 {
		t.Errorf("drawn widths %v: charts or bars not laid out", widths)
	}
}
