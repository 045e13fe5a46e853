package jobs

import (
	"context"
	"database/sql"
	"time"
)

// SQLMarkDone records a job's id in processed_jobs (id, kind, done_at in
// Unix seconds) unless it is there already; for handlers that prepare it.
const SQLMarkDone = `INSERT INTO processed_jobs (id, kind, done_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`

// Execer runs a statement: a *sql.Tx, or a *sql.DB for an effect outside
// the database.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// MarkDone records j as done at now through ex, the same transaction as
// j's effect, and reports whether this call recorded it: false means a
// delivery before this one already did, and the effect must not be applied
// again (roll the transaction back). This is step two of exactly once; the
// stream's dedup and the worker's confirmed ack are the others.
func MarkDone(ctx context.Context, ex Execer, j Job, now time.Time) (bool, error) {
	res, err := ex.ExecContext(ctx, SQLMarkDone, j.ID, j.Kind(), now.Unix())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Done reports whether the job with id is recorded as done in db: a
// handler whose effect is outside the database (an email sent) asks first.
func Done(ctx context.Context, db *sql.DB, id string) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM processed_jobs WHERE id = ?`, id).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}
