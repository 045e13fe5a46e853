package admin

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"site/app/stats"
	"site/views"
)

// The charts' drawing box (SVG user units); the plot sits inside the
// margins, which hold the axes' labels.
const (
	chartW, chartH                 = 720, 220
	chartLeft, chartRight          = 64, 12
	chartTop, chartBottom          = 12, 30
	chartPlotW, chartPlotH float64 = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
	chartXTicks                    = 6
	chartAllTicks                  = 8 // a series this short labels every point
)

// chart draws one measure (val) of a series and of the previous period's
// on the same axes, with a label that says the figures in words.
func chart(title string, rg stats.Range, cur, prev []stats.Point, val func(stats.Point) int64) views.AnalyticsChart {
	var peak, total, prevTotal int64
	peakAt := 0
	for i, p := range cur {
		v := val(p)
		total += v
		if v > peak {
			peak, peakAt = v, i
		}
	}
	top := peak
	for _, p := range prev {
		prevTotal += val(p)
		top = max(top, val(p))
	}
	step := niceStep(top)
	top = max(step, (top+step-1)/step*step)
	n := len(cur)
	x := func(i int) float64 {
		if n == 1 {
			return chartLeft + chartPlotW/2
		}
		return chartLeft + chartPlotW*float64(i)/float64(n-1)
	}
	y := func(v int64) float64 { return chartTop + chartPlotH*(1-float64(v)/float64(top)) }
	line := func(ps []stats.Point) string {
		var b strings.Builder
		for i, p := range ps {
			if i >= n {
				break
			}
			fmt.Fprintf(&b, "%s,%s ", num(x(i)), num(y(val(p))))
		}
		return strings.TrimSpace(b.String())
	}
	c := views.AnalyticsChart{
		Title: title, Width: chartW, Height: chartH,
		Current: line(cur), Previous: line(prev),
		Left: num(chartLeft), Right: num(chartW - chartRight), Base: num(chartTop + chartPlotH), AxisX: num(chartLeft - 6),
	}
	if n > 0 {
		c.Area = fmt.Sprintf("M%s,%s L%s L%s,%s Z", num(x(0)), c.Base, c.Current, num(x(n-1)), c.Base)
	}
	for v := int64(0); v <= top; v += step {
		c.YTicks = append(c.YTicks, views.ChartTick{At: num(y(v)), Label: count(v)})
	}
	ticks := tickIndexes(n)
	for k, i := range ticks {
		anchor := "middle"
		switch {
		case n == 1:
		case k == 0:
			anchor = "start"
		case k == len(ticks)-1:
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, views.ChartTick{At: num(x(i)), Label: shortLabel(rg, cur[i]), Anchor: anchor})
	}
	per := map[stats.Step]string{stats.Hour: "hour", stats.Day: "day", stats.Week: "week"}[rg.Step()]
	c.Label = fmt.Sprintf("%s per %s, %s: %s in total", title, per, periodText(rg), count(total))
	if peak > 0 {
		c.Label += fmt.Sprintf(", highest %s (%s)", count(peak), longLabel(rg, cur[peakAt]))
	}
	c.Label += fmt.Sprintf(". Previous period, %s: %s in total.", periodText(rg.Previous()), count(prevTotal))
	return c
}

// seriesTable is the charts' figures as a table.
func seriesTable(rg stats.Range, cur, prev []stats.Point) []views.AnalyticsSeriesRow {
	out := make([]views.AnalyticsSeriesRow, len(cur))
	for i, p := range cur {
		out[i] = views.AnalyticsSeriesRow{Label: longLabel(rg, p), Views: count(p.Views), Visitors: count(p.Visitors)}
		if i < len(prev) {
			out[i].PrevLabel, out[i].PrevViews, out[i].PrevVisitors = longLabel(rg, prev[i]), count(prev[i].Views), count(prev[i].Visitors)
		}
	}
	return out
}

// tickIndexes are up to chartXTicks points to label, evenly spread, the
// first and the last among them.
func tickIndexes(n int) []int {
	if n <= chartAllTicks {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, chartXTicks)
	for k := range out {
		out[k] = int(math.Round(float64(k) * float64(n-1) / float64(chartXTicks-1)))
	}
	return out
}

// shortLabel names a point under the axis: "09:00", "14 Dec".
func shortLabel(rg stats.Range, p stats.Point) string {
	if rg.Step() == stats.Hour {
		return p.Start.UTC().Format("15:04")
	}
	return p.Start.Format("2 Jan")
}

// longLabel names a point in words: "14 December 09:00–10:00", "14 December 2025",
// "week of 14 December 2025 (7 days)".
func longLabel(rg stats.Range, p stats.Point) string {
	switch rg.Step() {
	case stats.Hour:
		return p.Start.UTC().Format("2 January 15:04") + "–" + p.Start.UTC().Add(time.Hour).Format("15:04")
	case stats.Week:
		s := "week of " + p.Start.Format("2 January 2006")
		if p.Days != 7 {
			s += fmt.Sprintf(" (%d days)", p.Days)
		}
		return s
	}
	return p.Start.Format("2 January 2006")
}

// niceStep is the distance between the value axis's lines: 1, 2 or 5
// times a power of ten, so that at most four steps reach top.
func niceStep(top int64) int64 {
	for p := int64(1); p < math.MaxInt64/10; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if 4*m*p >= top {
				return m * p
			}
		}
	}
	return top
}

// num writes a coordinate with at most one decimal.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }
