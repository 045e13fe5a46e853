package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"site/app/jobs"
)

// Alerter is the worker's jobs.alert handler: it groups alerts (same
// source, level and message) in data.db and mails the admins a digest of
// what is new, at most once per Every.
type Alerter struct {
	// Mail sends the digests; Admins receive them.
	Mail   Mailer
	Admins []string
	// Site names the site in subjects.
	Site string
	// DB is the writer connection of data.db.
	DB *sql.DB
	// Every is the least time between two digests (default 15 min).
	Every time.Duration
	// GroupFor is how long a repeat joins the earlier alert's group
	// instead of opening a new one (default 24 h).
	GroupFor time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnAlert, when set, is called for each new alert (for live events).
	OnAlert func(jobs.AlertJob)
	// Logger receives digests that could not be sent.
	Logger *slog.Logger

	mu sync.Mutex
}

func (a *Alerter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Handle records one alert in its group, then sends a digest when one is
// due. A failed digest makes the job retry; the alert itself is recorded
// once.
func (a *Alerter) Handle(ctx context.Context, j jobs.Job) error {
	var al jobs.AlertJob
	if err := json.Unmarshal(j.Data, &al); err != nil {
		return jobs.Permanent(fmt.Errorf("alert job: %w", err))
	}
	if al.Source == "" {
		al.Source = "unknown"
	}
	if al.Level == "" {
		al.Level = "error"
	}
	if al.At.IsZero() {
		al.At = a.now()
	}
	al.Message = strings.TrimSpace(al.Message)
	fresh, err := a.record(ctx, j, al)
	if err != nil {
		return err
	}
	if fresh && a.OnAlert != nil {
		a.OnAlert(al)
	}
	return a.Flush(ctx)
}

func (a *Alerter) record(ctx context.Context, j jobs.Job, al jobs.AlertJob) (bool, error) {
	groupFor := a.GroupFor
	if groupFor == 0 {
		groupFor = 24 * time.Hour
	}
	tx, err := a.DB.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("record alert: %w", err)
	}
	defer tx.Rollback()
	if first, err := jobs.MarkDone(ctx, tx, j, a.now()); err != nil {
		return false, fmt.Errorf("record alert: %w", err)
	} else if !first {
		return false, nil
	}
	at := al.At.Unix()
	res, err := tx.ExecContext(ctx, `UPDATE alerts SET count = count + 1, last_at = max(last_at, ?)
		WHERE id = (SELECT id FROM alerts WHERE source = ? AND level = ? AND message = ? AND last_at >= ?
			ORDER BY last_at DESC LIMIT 1)`, at, al.Source, al.Level, al.Message, at-int64(groupFor.Seconds()))
	if err != nil {
		return false, fmt.Errorf("record alert: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (source, level, message, count, first_at, last_at)
			VALUES (?, ?, ?, 1, ?, ?)`, al.Source, al.Level, al.Message, at, at); err != nil {
			return false, fmt.Errorf("record alert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("record alert: %w", err)
	}
	return true, nil
}

// pendingGroup is an alert group with occurrences not yet mailed.
type pendingGroup struct {
	id                     int64
	source, level, message string
	count, sent            int
	first, last            int64
	notifiedAt             int64
}

// Flush mails the admins a digest of the alerts not yet mailed, unless one
// went out less than Every ago (then a later Flush sends it).
func (a *Alerter) Flush(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	every := a.Every
	if every == 0 {
		every = 15 * time.Minute
	}
	now := a.now()
	tx, err := a.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alert digest: %w", err)
	}
	defer tx.Rollback()
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(notified_at), 0) FROM alerts`).Scan(&last); err != nil {
		return fmt.Errorf("alert digest: %w", err)
	}
	if last > 0 && now.Sub(time.Unix(last, 0)) < every {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, source, level, message, count, notified_count, first_at, last_at, notified_at
		FROM alerts WHERE count > notified_count ORDER BY level, last_at DESC LIMIT 100`)
	if err != nil {
		return fmt.Errorf("alert digest: %w", err)
	}
	var groups []pendingGroup
	for rows.Next() {
		var g pendingGroup
		if err := rows.Scan(&g.id, &g.source, &g.level, &g.message, &g.count, &g.sent, &g.first, &g.last, &g.notifiedAt); err != nil {
			rows.Close()
			return fmt.Errorf("alert digest: %w", err)
		}
		groups = append(groups, g)
	}
	rows.Close()
	if len(groups) == 0 {
		return nil
	}
	// Claim the groups before sending, so a second worker does not send
	// the same digest; undo the claim if the mail does not go.
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET notified_at = ?, notified_count = ? WHERE id = ?`, now.Unix(), g.count, g.id); err != nil {
			return fmt.Errorf("alert digest: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("alert digest: %w", err)
	}
	if len(a.Admins) == 0 {
		if a.Logger != nil {
			a.Logger.Warn("alerts not mailed: notify.admins is empty", "groups", len(groups))
		}
		return nil
	}
	if err := a.Mail.SendEmail(ctx, digest(a.Site, a.Admins, groups)); err != nil {
		for _, g := range groups {
			_, _ = a.DB.ExecContext(ctx, `UPDATE alerts SET notified_at = ?, notified_count = ? WHERE id = ?`, g.notifiedAt, g.sent, g.id)
		}
		return fmt.Errorf("alert digest: %w", err)
	}
	return nil
}

// Run flushes pending digests once a minute until ctx ends, so alerts held
// back by the rate limit go out without waiting for another alert.
func (a *Alerter) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Flush(ctx); err != nil && a.Logger != nil && ctx.Err() == nil {
				a.Logger.Warn("alert digest", "err", err)
			}
		}
	}
}

func digest(site string, to []string, groups []pendingGroup) Email {
	total := 0
	for _, g := range groups {
		total += g.count - g.sent
	}
	first := groups[0]
	subject := fmt.Sprintf("[%s] %s %s: %s", site, first.source, first.level, clipLine(first.message, 80))
	if len(groups) > 1 {
		subject = fmt.Sprintf("[%s] %d alerts in %d groups, first: %s %s", site, total, len(groups), first.source, first.level)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d new alert(s) since the last digest:\n\n", total)
	for _, g := range groups {
		fmt.Fprintf(&b, "%s %s ×%d (first %s, last %s)\n  %s\n\n", g.source, g.level, g.count-g.sent,
			time.Unix(g.first, 0).UTC().Format(time.RFC3339), time.Unix(g.last, 0).UTC().Format(time.RFC3339), g.message)
	}
	b.WriteString("To look further: `site backup status` shows the backup runs and the replica's checks; the worker's log names each job\n" +
		"that failed for good and why (they stay 30 days in the JOBS_DEAD stream); /metrics on ops.listen counts them in\n" +
		"site_jobs_done_total{outcome=\"dead\"}.\n")
	return Email{To: to, Subject: subject, Text: b.String()}
}

func clipLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
