package cron

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"site/app/backup"
)

// RunRecord is one row of cron_runs.
type RunRecord struct {
	ID                int64
	Status, Trigger   string
	Message           string
	Started, Finished time.Time
	Stats             backup.Stats
}

// TaskStatus is where a task stands: its schedule, its next slot and its
// last run (nil when it never ran).
type TaskStatus struct {
	Name     string
	Schedule string
	Next     time.Time
	Last     *RunRecord
}

// Status reports every task of tasks as of now, from data.db (db may be a
// reader); `site backup status` prints it.
func Status(ctx context.Context, db *sql.DB, tasks []Task, now time.Time) ([]TaskStatus, error) {
	var out []TaskStatus
	for _, t := range tasks {
		ts := TaskStatus{Name: t.Name, Schedule: t.Schedule.String(), Next: t.Schedule.Next(now)}
		var r RunRecord
		var started, finished int64
		err := db.QueryRowContext(ctx, `SELECT id, status, trigger, message, started_at, finished_at,
			objects_checked, objects_copied, bytes_copied, objects_deleted
			FROM cron_runs WHERE task = ? ORDER BY id DESC LIMIT 1`, t.Name).Scan(
			&r.ID, &r.Status, &r.Trigger, &r.Message, &started, &finished,
			&r.Stats.Checked, &r.Stats.Copied, &r.Stats.Bytes, &r.Stats.Deleted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("cron status: %w", err)
		default:
			r.Started = time.UnixMilli(started)
			if finished > 0 {
				r.Finished = time.UnixMilli(finished)
			}
			ts.Last = &r
		}
		out = append(out, ts)
	}
	return out, nil
}
