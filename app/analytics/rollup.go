package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// view is one stored page view as the rollups see it.
type view struct {
	path                string
	at                  time.Time
	visitor             string
	isNew               bool
	country, city       string
	browser, os, device string
	refHost, utm        string
}

type count struct{ views, visitors int }

func (c *count) add(isNew bool) {
	c.views++
	if isNew {
		c.visitors++
	}
}

type hourKey struct {
	hour int64
	path string
}

type dayKey struct{ day, path string }

type dimKey struct{ day, dim, value string }

type botKey struct{ day, bot string }

// rollup sums a batch's views in memory, to be added to the rollup tables
// with one upsert per row touched.
type rollup struct {
	hourly map[hourKey]*count
	daily  map[dayKey]*count
	by     map[dimKey]*count
	bots   map[botKey]int
}

func newRollup() *rollup {
	return &rollup{hourly: map[hourKey]*count{}, daily: map[dayKey]*count{}, by: map[dimKey]*count{}, bots: map[botKey]int{}}
}

func bump[K comparable](m map[K]*count, k K, isNew bool) {
	c := m[k]
	if c == nil {
		c = &count{}
		m[k] = c
	}
	c.add(isNew)
}

// view counts v, which fell on day (dayOf(v.at), which the caller has).
func (r *rollup) view(day string, v view) {
	sec := v.at.Unix()
	bump(r.hourly, hourKey{sec - sec%3600 - hourFloor(sec), v.path}, v.isNew)
	bump(r.daily, dayKey{day, v.path}, v.isNew)
	for d, value := range [...]string{v.country, v.browser, v.os, v.device, v.refHost, v.utm} {
		if value != "" {
			bump(r.by, dimKey{day, dimNames[d], value}, v.isNew)
		}
	}
}

// dimNames are the dimensions of views_daily_by, in the order view passes them.
var dimNames = [...]string{"country", "browser", "os", "device", "referrer", "utm"}

// hourFloor corrects sec - sec%3600 to the start of the hour for times
// before 1970, where % leaves a negative remainder.
func hourFloor(sec int64) int64 {
	if sec < 0 && sec%3600 != 0 {
		return 3600
	}
	return 0
}

func (r *rollup) bot(day, name string) { r.bots[botKey{day, name}]++ }

// monthOf is the month ('YYYY-MM') of a day ('YYYY-MM-DD').
func monthOf(day string) string { return day[:7] }

// reports are the rollups of the analytics pages (migration 0011), summed
// from the daily ones: all views of each day, and each month's views by
// path (a dayKey whose day is the month) and by dimension.
func (r *rollup) reports() (totals map[string]*count, monthly map[dayKey]*count, monthlyBy map[dimKey]*count) {
	totals, monthly, monthlyBy = map[string]*count{}, map[dayKey]*count{}, map[dimKey]*count{}
	for k, c := range r.daily {
		addTo(totals, k.day, c)
		addTo(monthly, dayKey{monthOf(k.day), k.path}, c)
	}
	for k, c := range r.by {
		addTo(monthlyBy, dimKey{monthOf(k.day), k.dim, k.value}, c)
	}
	return totals, monthly, monthlyBy
}

// addTo adds c to the count of k in m.
func addTo[K comparable](m map[K]*count, k K, c *count) {
	sum := m[k]
	if sum == nil {
		sum = &count{}
		m[k] = sum
	}
	sum.views += c.views
	sum.visitors += c.visitors
}

// flush adds the sums to the rollup tables inside tx.
func (r *rollup) flush(ctx context.Context, tx *sql.Tx) error {
	up := func(query string, rows int, each func(*sql.Stmt) error) error {
		if rows == 0 {
			return nil
		}
		st, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("rollup: %w", err)
		}
		defer st.Close()
		if err := each(st); err != nil {
			return fmt.Errorf("rollup: %w", err)
		}
		return nil
	}
	err := up(`INSERT INTO views_hourly (hour, path, views, visitors) VALUES (?, ?, ?, ?)
		ON CONFLICT (hour, path) DO UPDATE SET views = views + excluded.views, visitors = visitors + excluded.visitors`,
		len(r.hourly), func(st *sql.Stmt) error {
			for k, c := range r.hourly {
				if _, err := st.ExecContext(ctx, k.hour, k.path, c.views, c.visitors); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	err = up(`INSERT INTO views_daily (day, path, views, visitors) VALUES (?, ?, ?, ?)
		ON CONFLICT (day, path) DO UPDATE SET views = views + excluded.views, visitors = visitors + excluded.visitors`,
		len(r.daily), func(st *sql.Stmt) error {
			for k, c := range r.daily {
				if _, err := st.ExecContext(ctx, k.day, k.path, c.views, c.visitors); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	err = up(`INSERT INTO views_daily_by (day, dim, value, views, visitors) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (day, dim, value) DO UPDATE SET views = views + excluded.views, visitors = visitors + excluded.visitors`,
		len(r.by), func(st *sql.Stmt) error {
			for k, c := range r.by {
				if _, err := st.ExecContext(ctx, k.day, k.dim, k.value, c.views, c.visitors); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	totals, monthly, monthlyBy := r.reports()
	err = up(`INSERT INTO views_daily_totals (day, views, visitors) VALUES (?, ?, ?)
		ON CONFLICT (day) DO UPDATE SET views = views + excluded.views, visitors = visitors + excluded.visitors`,
		len(totals), func(st *sql.Stmt) error {
			for day, c := range totals {
				if _, err := st.ExecContext(ctx, day, c.views, c.visitors); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	err = up(`INSERT INTO views_monthly (month, path, views, visitors) VALUES (?, ?, ?, ?)
		ON CONFLICT (month, path) DO UPDATE SET views = views + excluded.views, visitors = visitors + excluded.visitors`,
		len(monthly), func(st *sql.Stmt) error {
			for k, c := range monthly {
				if _, err := st.ExecContext(ctx, k.day, k.path, c.views, c.visitors); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	err = up(`INSERT INTO views_monthly_by (dim, month, value, views, visitors) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (dim, month, value) DO UPDATE SET views = views + excluded.views, visitors = visitors + excluded.visitors`,
		len(monthlyBy), func(st *sql.Stmt) error {
			for k, c := range monthlyBy {
				if _, err := st.ExecContext(ctx, k.dim, k.day, k.value, c.views, c.visitors); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	return up(`INSERT INTO bot_views (day, bot, views) VALUES (?, ?, ?)
		ON CONFLICT (day, bot) DO UPDATE SET views = views + excluded.views`,
		len(r.bots), func(st *sql.Stmt) error {
			for k, n := range r.bots {
				if _, err := st.ExecContext(ctx, k.day, k.bot, n); err != nil {
					return err
				}
			}
			return nil
		})
}
