package stats

import (
	"fmt"
	"time"
)

// MaxDays is the longest range a report covers: three years.
const MaxDays = 3*365 + 1

// The kinds of range: the presets end today; a custom range is two dates.
const (
	KindDay    = "day"
	KindWeek   = "week"
	KindMonth  = "month"
	KindYear   = "year"
	KindCustom = "custom"
)

// DefaultKind is the range shown when none is asked for.
const DefaultKind = KindMonth

// presetDays is how many days, today included, each preset covers.
var presetDays = map[string]int{KindDay: 1, KindWeek: 7, KindMonth: 30, KindYear: 365}

// Step is the width of one point of a series.
type Step int

// The steps of a series: an hour for a range of one day, a day up to
// DailyUpTo days, a week beyond.
const (
	Hour Step = iota
	Day
	Week
)

// DailyUpTo is the longest range whose series has a point per day.
const DailyUpTo = 400

// Range is a span of whole UTC days, From to To, both included.
type Range struct {
	// Kind is the preset the range came from, or KindCustom.
	Kind string
	// From and To are UTC midnights; To is the range's last day.
	From, To time.Time

	// today is the day the range was asked on (zero when unknown): the
	// rollups hold nothing after it, which the plan uses (planOf).
	today time.Time
}

// BadRange says why a range asked for cannot be reported on, in a sentence
// for the person who asked.
type BadRange struct{ Reason string }

func (e *BadRange) Error() string { return e.Reason }

func bad(format string, args ...any) error { return &BadRange{Reason: fmt.Sprintf(format, args...)} }

// ParseRange reads a range as the analytics pages' form sends it: kind
// (DefaultKind when empty), and for a custom range the dates from and to
// ('YYYY-MM-DD', both included); now is the current time. Its errors are
// *BadRange.
func ParseRange(kind, from, to string, now time.Time) (Range, error) {
	today := midnight(now)
	if kind == "" {
		kind = DefaultKind
	}
	if days, ok := presetDays[kind]; ok {
		return Range{Kind: kind, From: today.AddDate(0, 0, 1-days), To: today, today: today}, nil
	}
	if kind != KindCustom {
		return Range{}, bad("%q is not a range: choose day, week, month, year or custom.", clipText(kind))
	}
	if from == "" || to == "" {
		return Range{}, bad("A custom range needs both a first and a last day.")
	}
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return Range{}, bad("The first day %q is not a date written as YYYY-MM-DD.", clipText(from))
	}
	t, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return Range{}, bad("The last day %q is not a date written as YYYY-MM-DD.", clipText(to))
	}
	switch {
	case t.Before(f):
		return Range{}, bad("The last day (%s) comes before the first (%s).", to, from)
	case t.After(today):
		return Range{}, bad("The last day (%s) is after today (%s).", to, today.Format(time.DateOnly))
	case f.Year() < 2000:
		return Range{}, bad("The first day (%s) is before the year 2000.", from)
	case days(f, t) > MaxDays:
		return Range{}, bad("The range covers %d days; the longest allowed is %d days (three years).", days(f, t), MaxDays)
	}
	return Range{Kind: KindCustom, From: f, To: t, today: today}, nil
}

// clipText cuts what a person typed to a length fit to repeat back.
func clipText(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// midnight is the start of t's UTC day.
func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// days is the number of days from f to t, both included.
func days(f, t time.Time) int { return int(t.Sub(f).Hours()/24) + 1 }

// Days is the number of days the range covers.
func (r Range) Days() int { return days(r.From, r.To) }

// Previous is the range of the same length that ends the day before r
// begins: what r is compared with.
func (r Range) Previous() Range {
	n := r.Days()
	return Range{Kind: r.Kind, From: r.From.AddDate(0, 0, -n), To: r.From.AddDate(0, 0, -1), today: r.today}
}

// Step is the width of the points of r's series.
func (r Range) Step() Step {
	switch n := r.Days(); {
	case n == 1:
		return Hour
	case n <= DailyUpTo:
		return Day
	default:
		return Week
	}
}

// FromDay and ToDay are the first and last days as 'YYYY-MM-DD'.
func (r Range) FromDay() string { return r.From.Format(time.DateOnly) }

// ToDay is the last day as 'YYYY-MM-DD'.
func (r Range) ToDay() string { return r.To.Format(time.DateOnly) }
