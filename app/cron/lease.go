package cron

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// begin takes the task's lease and records a running run, in one
// IMMEDIATE transaction (data.db's writer begins IMMEDIATE), so of two
// processes, or two runs in one process, only one gets it. For a scheduled run it also checks that the
// slot is still due: the other process may have run it meanwhile. It
// returns 0 when there is nothing to run.
func (s *Scheduler) begin(ctx context.Context, task string, slot time.Time, trigger string) (int64, error) {
	now := s.Now()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("cron: lease %s: %w", task, err)
	}
	defer tx.Rollback()
	var owner string
	var until int64
	err = tx.QueryRowContext(ctx, `SELECT owner, expires_at FROM cron_leases WHERE name = ?`, task).Scan(&owner, &until)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, fmt.Errorf("cron: lease %s: %w", task, err)
	case until > now.UnixMilli() && owner == s.Owner:
		// This process runs it (a scheduled run while a manual one is
		// asked for, or the reverse): finish deletes the lease.
		return 0, fmt.Errorf("%s: %w", task, ErrRunning)
	case until > now.UnixMilli():
		return 0, fmt.Errorf("%s: %w (%s, lease until %s)", task, ErrBusy, owner, time.UnixMilli(until).UTC().Format(time.RFC3339))
	}
	if !slot.IsZero() {
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT last_slot FROM cron_tasks WHERE name = ?`, task).Scan(&last)
		if err == nil && last >= slot.Unix() {
			return 0, nil
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("cron: lease %s: %w", task, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cron_leases (name, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
		task, s.Owner, now.Add(s.LeaseTTL).UnixMilli()); err != nil {
		return 0, fmt.Errorf("cron: lease %s: %w", task, err)
	}
	var slotUnix int64
	if !slot.IsZero() {
		slotUnix = slot.Unix()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO cron_runs (task, slot, trigger, owner, status, started_at) VALUES (?, ?, ?, ?, ?, ?)`,
		task, slotUnix, trigger, s.Owner, StatusRunning, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("cron: record run of %s: %w", task, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("cron: lease %s: %w", task, err)
	}
	return id, nil
}

// renew extends the lease every LeaseTTL/3 until stop closes; if the lease
// was taken over (this process stalled past its expiry) the run is
// cancelled with that cause.
func (s *Scheduler) renew(ctx context.Context, task string, stop <-chan struct{}, cancel context.CancelCauseFunc) {
	t := time.NewTicker(s.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.DB.ExecContext(ctx, `UPDATE cron_leases SET expires_at = ? WHERE name = ? AND owner = ?`,
			s.Now().Add(s.LeaseTTL).UnixMilli(), task, s.Owner)
		if err != nil {
			s.Logger.Warn("cron: renew lease", "task", task, "err", err)
			continue
		}
		if n, _ := res.RowsAffected(); n == 0 {
			cancel(fmt.Errorf("lease of %s lost to another process", task))
			return
		}
	}
}

// finish records the run's outcome, moves the task's slot on when advance
// is set and the run was scheduled, and releases the lease.
func (s *Scheduler) finish(ctx context.Context, task string, id int64, slot time.Time, advance bool, r Result) error {
	now := s.Now()
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE cron_runs SET status = ?, message = ?, finished_at = ?,
		objects_checked = ?, objects_copied = ?, bytes_copied = ?, objects_deleted = ? WHERE id = ?`,
		r.Status, r.Message, now.UnixMilli(), r.Stats.Checked, r.Stats.Copied, r.Stats.Bytes, r.Stats.Deleted, id); err != nil {
		return err
	}
	if advance && !slot.IsZero() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cron_tasks (name, last_slot, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET last_slot = max(last_slot, excluded.last_slot), updated_at = excluded.updated_at`,
			task, slot.Unix(), now.Unix()); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM cron_leases WHERE name = ? AND owner = ?`, task, s.Owner); err != nil {
		return err
	}
	return tx.Commit()
}
