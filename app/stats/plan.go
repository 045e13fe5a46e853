package stats

import (
	"fmt"
	"strings"
	"time"
)

// span is a run of days (or months), first to last included, as the
// rollups key them: 'YYYY-MM-DD' (or 'YYYY-MM').
type span struct{ first, last string }

// plan is how a range's sums are read from the rollups: the whole months
// in months (a run, or nil) from the monthly rollups, plus the days of
// plus from the daily ones, minus the days of minus, which are the part of
// a month read whole that lies outside the range (read when that part
// holds fewer days of data than the part inside: days after today hold
// none, so a range ending today reads its last month whole). A year's report then reads about twelve
// rows per key and at most a month of days, instead of 365 days.
type plan struct {
	months      *span
	plus, minus []span
}

// planOf plans r; daysOnly reads days alone (the reference of the
// benchmark: what the pages did before the monthly rollups).
func planOf(r Range, daysOnly bool) plan {
	var p plan
	if daysOnly {
		p.plus = []span{{r.FromDay(), r.ToDay()}}
		return p
	}
	for m := monthStart(r.From); !m.After(r.To); m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, -1)
		first, last := later(m, r.From), earlier(end, r.To)
		inside := r.cost(first, last)
		outside := r.cost(m, first.AddDate(0, 0, -1)) + r.cost(last.AddDate(0, 0, 1), end)
		if outside >= inside {
			p.addPlus(span{dayOf(first), dayOf(last)}, first)
			continue
		}
		if p.months == nil {
			p.months = &span{first: monthOf(m)}
		}
		p.months.last = monthOf(m)
		if first.After(m) {
			p.minus = append(p.minus, span{dayOf(m), dayOf(first.AddDate(0, 0, -1))})
		}
		if last.Before(end) {
			p.minus = append(p.minus, span{dayOf(last.AddDate(0, 0, 1)), dayOf(end)})
		}
	}
	return p
}

// cost is how many days from first to last may hold rows: none after the
// day the range was asked on, when that is known.
func (r Range) cost(first, last time.Time) int {
	if !r.today.IsZero() {
		last = earlier(last, r.today)
	}
	if last.Before(first) {
		return 0
	}
	return days(first, last)
}

// addPlus adds the days of s, joining them to the previous run when it
// ends the day before first.
func (p *plan) addPlus(s span, first time.Time) {
	if n := len(p.plus); n > 0 && p.plus[n-1].last == dayOf(first.AddDate(0, 0, -1)) {
		p.plus[n-1].last = s.last
		return
	}
	p.plus = append(p.plus, s)
}

// source is where a report's rows come from: a key column in a daily and
// a monthly rollup, restricted to one dimension when dim is set.
type source struct {
	key, daily, monthly, dim string
}

// union is a query of (key, views, visitors) rows whose sums per key are
// the range's: the plan's months, its days, and its days taken away.
func (s source) union(p plan) (string, []any) {
	var parts []string
	var args []any
	dimMonth, dimDay := "", ""
	if s.dim != "" {
		dimMonth, dimDay = "dim = ? AND ", " AND dim = ?"
	}
	if p.months != nil {
		parts = append(parts, fmt.Sprintf("SELECT %s AS key, views, visitors FROM %s WHERE %smonth BETWEEN ? AND ?", s.key, s.monthly, dimMonth))
		if s.dim != "" {
			args = append(args, s.dim)
		}
		args = append(args, p.months.first, p.months.last)
	}
	for i, spans := range [][]span{p.plus, p.minus} {
		sign := ""
		if i == 1 {
			sign = "-"
		}
		for _, d := range spans {
			parts = append(parts, fmt.Sprintf("SELECT %s AS key, %sviews, %svisitors FROM %s WHERE day BETWEEN ? AND ?%s", s.key, sign, sign, s.daily, dimDay))
			args = append(args, d.first, d.last)
			if s.dim != "" {
				args = append(args, s.dim)
			}
		}
	}
	return strings.Join(parts, "\nUNION ALL ") + "\n", args
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func dayOf(t time.Time) string   { return t.Format(time.DateOnly) }
func monthOf(t time.Time) string { return t.Format("2006-01") }
