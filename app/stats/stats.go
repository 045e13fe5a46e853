// Package stats answers the analytics pages' questions (views and
// visitors over a range, top pages, referrers and the rest) from the
// rollups the worker keeps in data.db, never from the page view log: a
// report over a year reads months where it can and days only at its ends.
//
// Days are UTC. visitors in every rollup counts views that were a
// visitor's first view of the day, so over a range it is the sum of daily
// unique visitors: the visitor id is salted per day, and the same reader
// on two days cannot be told apart from two readers, by design.
package stats

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// Reports reads the reports from data.db.
type Reports struct {
	// DB is a read pool of data.db.
	DB *sql.DB

	// daysOnly reads the daily rollups alone, never the monthly ones or
	// the daily totals: the benchmark's reference (export_test.go).
	daysOnly bool
}

// Totals are a range's sums.
type Totals struct {
	// Views is the number of page views.
	Views int64
	// Visitors is the sum of the daily unique visitors.
	Visitors int64
	// Bots is the number of views by crawlers and tools, kept apart.
	Bots int64
}

// Totals sums r's views, visitors and bot views.
func (s *Reports) Totals(ctx context.Context, r Range) (Totals, error) {
	var t Totals
	table := "views_daily_totals"
	if s.daysOnly {
		table = "views_daily"
	}
	err := s.DB.QueryRowContext(ctx, `SELECT coalesce(sum(views), 0), coalesce(sum(visitors), 0) FROM `+table+`
		WHERE day BETWEEN ? AND ?`, r.FromDay(), r.ToDay()).Scan(&t.Views, &t.Visitors)
	if err != nil {
		return t, fmt.Errorf("stats: totals: %w", err)
	}
	err = s.DB.QueryRowContext(ctx, `SELECT coalesce(sum(views), 0) FROM bot_views WHERE day BETWEEN ? AND ?`,
		r.FromDay(), r.ToDay()).Scan(&t.Bots)
	if err != nil {
		return t, fmt.Errorf("stats: bot totals: %w", err)
	}
	return t, nil
}

// Point is one point of a series: the views and visitors of an hour, a
// day or a week.
type Point struct {
	// Start is the start of the hour, or the first day.
	Start time.Time
	// Days is how many days the point covers (a week's first point may
	// cover fewer than seven); 0 for an hour.
	Days     int
	Views    int64
	Visitors int64
}

// Series is r's views and visitors per step (Range.Step), oldest first,
// with a point for every hour, day or week, zero where nothing was seen.
// Weeks count back from the range's last day, so only the first may be
// short.
func (s *Reports) Series(ctx context.Context, r Range) ([]Point, error) {
	if r.Step() == Hour {
		return s.hours(ctx, r)
	}
	points := make([]Point, 0, r.Days())
	for d := r.From; !d.After(r.To); d = d.AddDate(0, 0, 1) {
		points = append(points, Point{Start: d, Days: 1})
	}
	q := `SELECT day, views, visitors FROM views_daily_totals WHERE day BETWEEN ? AND ?`
	if s.daysOnly {
		q = `SELECT day, sum(views), sum(visitors) FROM views_daily WHERE day BETWEEN ? AND ? GROUP BY day`
	}
	rows, err := s.DB.QueryContext(ctx, q, r.FromDay(), r.ToDay())
	if err != nil {
		return nil, fmt.Errorf("stats: series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day string
		var views, visitors int64
		if err := rows.Scan(&day, &views, &visitors); err != nil {
			return nil, fmt.Errorf("stats: series: %w", err)
		}
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			continue // not a day: nothing the worker writes
		}
		if i := days(r.From, t) - 1; i >= 0 && i < len(points) {
			points[i].Views, points[i].Visitors = views, visitors
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: series: %w", err)
	}
	if r.Step() == Week {
		return weeks(points), nil
	}
	return points, nil
}

// hours is the series of a one-day range, by hour.
func (s *Reports) hours(ctx context.Context, r Range) ([]Point, error) {
	points := make([]Point, 24)
	for i := range points {
		points[i].Start = r.From.Add(time.Duration(i) * time.Hour)
	}
	from := r.From.Unix()
	rows, err := s.DB.QueryContext(ctx, `SELECT hour, sum(views), sum(visitors) FROM views_hourly
		WHERE hour >= ? AND hour < ? GROUP BY hour`, from, from+24*3600)
	if err != nil {
		return nil, fmt.Errorf("stats: hourly series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var hour, views, visitors int64
		if err := rows.Scan(&hour, &views, &visitors); err != nil {
			return nil, fmt.Errorf("stats: hourly series: %w", err)
		}
		if i := (hour - from) / 3600; i >= 0 && i < 24 {
			points[i].Views, points[i].Visitors = views, visitors
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: hourly series: %w", err)
	}
	return points, nil
}

// weeks sums daily points into weeks counted back from the last day.
func weeks(daily []Point) []Point {
	n := (len(daily) + 6) / 7
	out := make([]Point, n)
	for i := range daily {
		w := n - 1 - (len(daily)-1-i)/7
		if out[w].Days == 0 {
			out[w].Start = daily[i].Start
		}
		out[w].Days++
		out[w].Views += daily[i].Views
		out[w].Visitors += daily[i].Visitors
	}
	return out
}

// Overview is what the analytics overview shows: a range's totals and
// series and the previous period's, and the top rows of every table.
type Overview struct {
	Totals, PreviousTotals Totals
	Series, PreviousSeries []Point
	// Tables are the top rows of each table, in the order of Tables.
	Tables [][]Row
}

// Overview asks every question of the overview at once, at most parallel
// at a time (one when parallel < 1): on a machine with cores to spare it
// takes about as long as its slowest question.
func (s *Reports) Overview(ctx context.Context, r Range, top, parallel int) (Overview, error) {
	var o Overview
	prev := r.Previous()
	o.Tables = make([][]Row, len(Tables))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, parallel))
	g.Go(func() (err error) { o.Totals, err = s.Totals(ctx, r); return err })
	g.Go(func() (err error) { o.PreviousTotals, err = s.Totals(ctx, prev); return err })
	g.Go(func() (err error) { o.Series, err = s.Series(ctx, r); return err })
	g.Go(func() (err error) { o.PreviousSeries, err = s.Series(ctx, prev); return err })
	for i, t := range Tables {
		g.Go(func() (err error) { o.Tables[i], err = s.Top(ctx, r, t, top); return err })
	}
	return o, g.Wait()
}
