package stats_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"site/app/benchdoc"
	"site/app/stats"
)

// benchQuery is one question the analytics pages ask.
type benchQuery struct {
	name string
	run  func(ctx context.Context, rep *stats.Reports, r stats.Range) error
}

func benchQueries() []benchQuery {
	qs := []benchQuery{
		{"totals", func(ctx context.Context, rep *stats.Reports, r stats.Range) error {
			_, err := rep.Totals(ctx, r)
			return err
		}},
		{"series", func(ctx context.Context, rep *stats.Reports, r stats.Range) error {
			_, err := rep.Series(ctx, r)
			return err
		}},
	}
	for _, t := range stats.Tables {
		qs = append(qs, benchQuery{t.Name + " (top 10)", func(ctx context.Context, rep *stats.Reports, r stats.Range) error {
			_, err := rep.Top(ctx, r, t, 10)
			return err
		}})
	}
	// The overview page asks all of these, and the previous period's
	// totals and series, three at a time (stats.Reports.Overview, as the
	// admin handler calls it).
	qs = append(qs, benchQuery{"whole overview page (stats.Reports.Overview: all of the above and the previous period's totals and series, 3 at a time)",
		func(ctx context.Context, rep *stats.Reports, r stats.Range) error {
			_, err := rep.Overview(ctx, r, 10, 3)
			return err
		}})
	return qs
}

// BenchmarkAnalytics times each query of the analytics pages on a year of
// 10 million page views (yearOfViews), for each range the pages offer and a
// custom range of most of a year, against the same answer read from the
// daily rollups alone (stats.DaysOnly: views_daily, views_daily_by, no
// monthly rollup, no daily totals) in the same run, and writes the table
// to docs/benchmarks.md.
func BenchmarkAnalytics(b *testing.B) {
	db, made := yearOfViewsNoted(b)
	loadBefore := benchdoc.LoadAverage()
	last, _ := time.Parse(time.DateOnly, genLastDay)
	now := last.Add(18 * time.Hour)
	var ranges []stats.Range
	for _, kind := range []string{stats.KindDay, stats.KindWeek, stats.KindMonth, stats.KindYear} {
		r, err := stats.ParseRange(kind, "", "", now)
		if err != nil {
			b.Fatal(err)
		}
		ranges = append(ranges, r)
	}
	custom, err := stats.ParseRange(stats.KindCustom, "2025-01-16", "2025-12-15", now)
	if err != nil {
		b.Fatal(err)
	}
	ranges = append(ranges, custom)
	fast, ref := &stats.Reports{DB: db.Read}, stats.DaysOnly(&stats.Reports{DB: db.Read})
	ctx := context.Background()
	var views, visitors, bots int64
	if err := db.Read.QueryRow(`SELECT sum(views), sum(visitors) FROM views_daily`).Scan(&views, &visitors); err != nil {
		b.Fatal(err)
	}
	if err := db.Read.QueryRow(`SELECT sum(views) FROM bot_views`).Scan(&bots); err != nil {
		b.Fatal(err)
	}
	counts := map[string]int64{}
	for _, t := range []string{"views_hourly", "views_daily", "views_daily_by", "views_monthly", "views_monthly_by", "bot_views"} {
		var n int64
		if err := db.Read.QueryRow(`SELECT count(*) FROM ` + t).Scan(&n); err != nil {
			b.Fatal(err)
		}
		counts[t] = n
	}

	type cell struct{ ms, cpuMS, refMS float64 }
	results := map[string]map[string]cell{}
	queries := benchQueries()
	for _, q := range queries {
		results[q.name] = map[string]cell{}
		for _, r := range ranges {
			var c cell
			for _, side := range []struct {
				name      string
				rep       *stats.Reports
				into, cpu *float64
			}{{"ours", fast, &c.ms, &c.cpuMS}, {"reference", ref, &c.refMS, new(float64)}} {
				b.Run(strings.Fields(q.name)[0]+"/"+r.Kind+"/"+side.name, func(b *testing.B) {
					used := processCPU()
					for b.Loop() {
						if err := q.run(ctx, side.rep, r); err != nil {
							b.Fatal(err)
						}
					}
					*side.into = float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e6
					*side.cpu = float64((processCPU() - used).Nanoseconds()) / float64(b.N) / 1e6
					b.ReportMetric(*side.cpu, "cpu-ms/op")
				})
			}
			results[q.name][r.Kind] = c
		}
	}

	for _, q := range queries {
		for _, r := range ranges {
			if c := results[q.name][r.Kind]; c.ms == 0 || c.refMS == 0 {
				b.Logf("not every query ran (-bench filtered them): docs/benchmarks.md left as it was")
				return
			}
		}
	}
	head := "| query |"
	rule := "|---|"
	for _, r := range ranges {
		head += fmt.Sprintf(" %s (%d days) |", r.Kind, r.Days())
		rule += "---|"
	}
	var rows []string
	worst, worstName := 0.0, ""
	for _, q := range queries {
		row := "| " + q.name + " |"
		for _, r := range ranges {
			c := results[q.name][r.Kind]
			row += fmt.Sprintf(" %.1f ms, cpu %.1f (%.2f ×) |", c.ms, c.cpuMS, c.ms/c.refMS)
			if !strings.HasPrefix(q.name, "whole") && c.ms > worst {
				worst, worstName = c.ms, q.name+", "+r.Kind
			}
		}
		rows = append(rows, row)
	}
	verdict := "met"
	if worst > 100 {
		verdict = "NOT met"
	}
	worstCPU := 0.0
	for _, q := range queries {
		for _, r := range ranges {
			if c := results[q.name][r.Kind]; !strings.HasPrefix(q.name, "whole") {
				worstCPU = max(worstCPU, c.cpuMS)
			}
		}
	}
	var rangeList []string
	for _, r := range ranges {
		rangeList = append(rangeList, fmt.Sprintf("%s %s – %s", r.Kind, r.FromDay(), r.ToDay()))
	}
	section := fmt.Sprintf(`## Analytics queries

Measured by `+"`go test ./app/stats -run '^$' -bench Analytics`"+` on %s (%d cores, %s), %s.

The data: a year of %s page views (%s daily unique visitors summed over the days) and
%s bot views, %d days ending %s, recorded through the worker's own path
(`+"`analytics.Recorder.HandleBatch`"+` on jobs of 200 views, a day per transaction, with a
geo database placing each address in one of %d countries), so the rollups are the ones the worker
writes: %s paths of Zipf popularity, %d referring hosts, %d UTM sources, %d countries, 20 user
agents (10 browsers, 8 systems, 3 kinds of device), %d bots; sessions of about 3.3 views, so
daily uniques are about 30%% of views; weekends quieter, traffic growing through the year. The
rollups hold %s rows in views_hourly, %s in views_daily, %s in views_daily_by, %s in
views_monthly, %s in views_monthly_by and %s in bot_views. Made once and cached in the
temporary directory; making it took %s.

Each cell: mean wall time of the query through `+"`stats.Reports`"+` (database/sql, the reader pool
of data.db), the CPU time the process used for it (this machine is shared with other work, so
wall time can be several times the CPU time), and in brackets the ratio of its wall time to the
**reference**: the same answer read from the daily
rollups alone (views_daily, views_daily_by; `+"`stats.DaysOnly`"+`), as the pages would without
migration 0011's monthly rollups and daily totals, measured in the same run. Ranges: %s.

%s
%s
%s

**Slowest single query: %.1f ms** (%s; target ≤ 100 ms: %s); the most CPU any single query
took: %.1f ms. Load average of the machine (shared with other work) before and after
the run: %s and %s. A year's report reads whole months
from views_monthly and views_monthly_by (primary key dim, month, value), and days only where
the range cuts a month: a month's days inside the range, or the whole month minus the days
outside it, whichever reads fewer days. Totals and series read views_daily_totals, a row per day;
a day's series reads views_hourly. Bots read bot_views by day (about 40 rows a day, no monthly
rollup needed).
`, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), benchdoc.CPUModel(), runtime.Version(),
		thousands(views), thousands(visitors), thousands(bots), genDays, genLastDay, genCountries,
		thousands(genPaths), genReferrers, genUTM, genCountries, genBots,
		thousands(counts["views_hourly"]), thousands(counts["views_daily"]), thousands(counts["views_daily_by"]),
		thousands(counts["views_monthly"]), thousands(counts["views_monthly_by"]), thousands(counts["bot_views"]), made, strings.Join(rangeList, "; "),
		head, rule, strings.Join(rows, "\n"), worst, worstName, verdict, worstCPU, loadBefore, benchdoc.LoadAverage())
	if err := benchdoc.WriteSection(filepath.Join("..", "..", "docs", "benchmarks.md"), "## Analytics queries", section); err != nil {
		b.Fatal(err)
	}
}

// thousands writes n with commas.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
