package admin

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"site/app/stats"
	"site/app/web"
	"site/views"
)

// SectionAnalytics is the analytics pages' section of the panel.
const SectionAnalytics = "analytics"

// Rows of a table: on the overview, and at most on its own page (the CSV
// export has them all).
const (
	analyticsTop     = 10
	analyticsAllRows = 1000
)

// analyticsParallel is how many of a page's queries run at once: no more
// than the read pool's smallest size, so other pages still get a reader.
const analyticsParallel = 3

func (a *Admin) analyticsRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET /admin/analytics", Handler: http.HandlerFunc(a.analytics)},
		{Pattern: "GET /admin/analytics/{table}", Handler: http.HandlerFunc(a.analyticsTable)},
		{Pattern: "GET /admin/analytics.csv", Handler: http.HandlerFunc(a.analyticsCSV)},
	}
}

func (a *Admin) reports() *stats.Reports { return &stats.Reports{DB: a.Data.Read} }

// analyticsRange reads the range of the request's query; on a bad one it
// answers 400 with the overview's form and the reason, and returns false.
func (a *Admin) analyticsRange(w http.ResponseWriter, r *http.Request, action string) (stats.Range, bool) {
	q := r.URL.Query()
	rg, err := stats.ParseRange(q.Get("range"), q.Get("from"), q.Get("to"), a.now())
	if err != nil {
		var bad *stats.BadRange
		if !errors.As(err, &bad) {
			a.serverError(w, r, err)
			return rg, false
		}
		a.analyticsProblem(w, r, action, bad.Reason)
		return rg, false
	}
	return rg, true
}

// analyticsProblem answers 400 with the range chooser and what was wrong.
func (a *Admin) analyticsProblem(w http.ResponseWriter, r *http.Request, action, problem string) {
	q := r.URL.Query()
	form := views.AnalyticsForm{Action: action, Kind: clip(q.Get("range"), 40), From: clip(q.Get("from"), 40), To: clip(q.Get("to"), 40)}
	a.page(w, r, http.StatusBadRequest, "Analytics", SectionAnalytics, views.AdminAnalytics(views.AnalyticsData{Form: form, Problem: problem}))
}

// analytics is the overview: totals and charts against the previous
// period, and the top rows of every table.
func (a *Admin) analytics(w http.ResponseWriter, r *http.Request) {
	rg, ok := a.analyticsRange(w, r, "/admin/analytics")
	if !ok {
		return
	}
	o, err := a.reports().Overview(r.Context(), rg, analyticsTop, analyticsParallel)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	cur, before, series, prevSeries := o.Totals, o.PreviousTotals, o.Series, o.PreviousSeries
	prev := rg.Previous()
	d := views.AnalyticsData{
		Form:     formOf("/admin/analytics", rg),
		Period:   periodText(rg),
		Previous: periodText(prev),
		Figures: []views.AnalyticsFigure{
			figure("Views", cur.Views, before.Views),
			figure("Unique visitors", cur.Visitors, before.Visitors),
			figure("Bot views", cur.Bots, before.Bots),
		},
		Empty:     cur.Views == 0 && cur.Bots == 0 && before.Views == 0 && before.Bots == 0,
		SeriesCSV: csvLink("series", rg),
	}
	if !allZero(series) || !allZero(prevSeries) {
		d.Charts = []views.AnalyticsChart{
			chart("Views", rg, series, prevSeries, func(p stats.Point) int64 { return p.Views }),
			chart("Unique visitors", rg, series, prevSeries, func(p stats.Point) int64 { return p.Visitors }),
		}
		d.Series = seriesTable(rg, series, prevSeries)
	}
	for i, t := range stats.Tables {
		d.Tables = append(d.Tables, tableView(t, rg, o.Tables[i], false))
	}
	a.page(w, r, http.StatusOK, "Analytics", SectionAnalytics, views.AdminAnalytics(d))
}

// analyticsTable is one table with up to analyticsAllRows rows.
func (a *Admin) analyticsTable(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("table")
	t, ok := stats.TableNamed(name)
	if !ok {
		a.analyticsProblem(w, r, "/admin/analytics", fmt.Sprintf("There is no table %q: the tables are %s.", clip(name, 40), tableNames()))
		return
	}
	rg, ok := a.analyticsRange(w, r, "/admin/analytics/"+t.Name)
	if !ok {
		return
	}
	rows, err := a.reports().Top(r.Context(), rg, t, analyticsAllRows+1)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	tv := tableView(t, rg, rows, true)
	a.page(w, r, http.StatusOK, t.Title+" · Analytics", SectionAnalytics, views.AdminAnalyticsTable(views.AnalyticsTablePage{
		Form: formOf("/admin/analytics/"+t.Name, rg), Period: periodText(rg), Table: tv,
		Back: "/admin/analytics?" + rangeQuery(rg).Encode(),
	}))
}

// analyticsCSV sends every row of a table, or the series, as CSV.
func (a *Admin) analyticsCSV(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("table")
	t, isTable := stats.TableNamed(name)
	if !isTable && name != "series" {
		a.analyticsProblem(w, r, "/admin/analytics", fmt.Sprintf("There is no table %q to export: the tables are %s, and series.", clip(name, 40), tableNames()))
		return
	}
	rg, ok := a.analyticsRange(w, r, "/admin/analytics")
	if !ok {
		return
	}
	ctx := r.Context()
	rep := a.reports()
	var records [][]string
	if isTable {
		rows, err := rep.Top(ctx, rg, t, 0)
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		records = tableCSV(t, rows)
	} else {
		series, err := rep.Series(ctx, rg)
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		prevSeries, err := rep.Series(ctx, rg.Previous())
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		records = seriesCSV(rg, series, prevSeries)
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{
		"filename": fmt.Sprintf("%s-%s-%s.csv", name, rg.FromDay(), rg.ToDay())}))
	h.Set("Cache-Control", "private, no-store")
	cw := csv.NewWriter(w)
	for _, rec := range records {
		for i := range rec {
			rec[i] = csvCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return // the client went away
		}
	}
	cw.Flush()
}

// csvCell keeps a spreadsheet from reading a cell as a formula: text that
// begins with =, +, -, @, a tab or a carriage return gets a leading '.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func tableCSV(t stats.Table, rows []stats.Row) [][]string {
	head := []string{t.Key}
	if t.Name == "posts" {
		head = []string{"Path", "Title"}
	}
	head = append(head, "Views")
	if t.Visitors != "" {
		head = append(head, t.Visitors)
	}
	out := [][]string{head}
	for _, row := range rows {
		rec := []string{row.Key}
		if t.Name == "posts" {
			rec = append(rec, row.Title)
		}
		rec = append(rec, strconv.FormatInt(row.Views, 10))
		if t.Visitors != "" {
			rec = append(rec, strconv.FormatInt(row.Visitors, 10))
		}
		out = append(out, rec)
	}
	return out
}

func seriesCSV(rg stats.Range, cur, prev []stats.Point) [][]string {
	out := [][]string{{"Start", "Days", "Views", "Unique visitors", "Previous period start", "Previous views", "Previous unique visitors"}}
	for i, p := range cur {
		rec := []string{pointStart(rg, p), strconv.Itoa(p.Days), strconv.FormatInt(p.Views, 10), strconv.FormatInt(p.Visitors, 10), "", "", ""}
		if i < len(prev) {
			q := prev[i]
			rec[4], rec[5], rec[6] = pointStart(rg, q), strconv.FormatInt(q.Views, 10), strconv.FormatInt(q.Visitors, 10)
		}
		out = append(out, rec)
	}
	return out
}

// pointStart is a point's start as the CSV writes it: the hour in RFC
// 3339 for a day's series, the date otherwise.
func pointStart(rg stats.Range, p stats.Point) string {
	if rg.Step() == stats.Hour {
		return p.Start.UTC().Format(time.RFC3339)
	}
	return p.Start.Format(time.DateOnly)
}

func tableNames() string {
	names := make([]string, len(stats.Tables))
	for i, t := range stats.Tables {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// rangeQuery is the query string that asks for rg.
func rangeQuery(rg stats.Range) url.Values {
	v := url.Values{"range": {rg.Kind}}
	if rg.Kind == stats.KindCustom {
		v.Set("from", rg.FromDay())
		v.Set("to", rg.ToDay())
	}
	return v
}

func csvLink(table string, rg stats.Range) string {
	v := rangeQuery(rg)
	v.Set("table", table)
	return "/admin/analytics.csv?" + v.Encode()
}

func formOf(action string, rg stats.Range) views.AnalyticsForm {
	return views.AnalyticsForm{Action: action, Kind: rg.Kind, From: rg.FromDay(), To: rg.ToDay()}
}

// periodText names a range's days: "20 December 2025", or "21 November –
// 20 December 2025".
func periodText(rg stats.Range) string {
	to := rg.To.Format("2 January 2006")
	switch {
	case rg.Days() == 1:
		return to
	case rg.From.Year() == rg.To.Year():
		return rg.From.Format("2 January") + " – " + to
	default:
		return rg.From.Format("2 January 2006") + " – " + to
	}
}

// count writes n with thousands separators.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// figure is a total beside the previous period's, with the change.
func figure(label string, cur, prev int64) views.AnalyticsFigure {
	f := views.AnalyticsFigure{Label: label, Value: count(cur), Previous: count(prev)}
	switch {
	case prev == 0 && cur == 0:
		f.Change, f.Trend = "no change", "same"
	case prev == 0:
		f.Change, f.Trend = "new", "up"
	default:
		pct := (float64(cur) - float64(prev)) / float64(prev) * 100
		switch {
		case math.Abs(pct) < 0.05:
			f.Change, f.Trend = "no change", "same"
		case pct > 0:
			f.Change, f.Trend = fmt.Sprintf("+%.1f%%", pct), "up"
		default:
			f.Change, f.Trend = fmt.Sprintf("−%.1f%%", -pct), "down"
		}
	}
	return f
}

func allZero(ps []stats.Point) bool {
	for _, p := range ps {
		if p.Views != 0 || p.Visitors != 0 {
			return false
		}
	}
	return true
}

// tableView is a table as the page shows it; all is the table's own page,
// which says when rows were left out.
func tableView(t stats.Table, rg stats.Range, rows []stats.Row, all bool) views.AnalyticsTable {
	tv := views.AnalyticsTable{Name: t.Name, Title: t.Title, Key: t.Key, Visitors: t.Visitors, Note: t.Note,
		CSV: csvLink(t.Name, rg)}
	if !all {
		tv.All = "/admin/analytics/" + t.Name + "?" + rangeQuery(rg).Encode()
	}
	if all && len(rows) > analyticsAllRows {
		rows, tv.Cut = rows[:analyticsAllRows], analyticsAllRows
	}
	var top int64
	for _, row := range rows {
		top = max(top, row.Views)
	}
	for _, row := range rows {
		rv := views.AnalyticsRow{Key: row.Key, Title: row.Title, Views: count(row.Views), Visitors: count(row.Visitors)}
		if t.Name == "posts" {
			rv.Link = row.Key
		}
		if top > 0 {
			rv.Bar = strconv.FormatFloat(float64(row.Views)/float64(top)*100, 'f', 1, 64)
		}
		tv.Rows = append(tv.Rows, rv)
	}
	return tv
}
