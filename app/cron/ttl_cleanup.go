package cron

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// processedJobsKept is how long the ids of done jobs stay in data.db. A
// redelivery comes within minutes (jobs.AckWait) or, after an outage, when a
// worker is back; a month is far beyond both, and keeps the table small.
const processedJobsKept = 30 * 24 * time.Hour

// ttlCleanup deletes the expired rows of every ttl.db table that has an
// expires_at column (sessions, one-time codes, rate limits, and whatever
// tables later migrations add); each has an index on expires_at. It also
// forgets the ids of jobs done more than processedJobsKept ago.
func ttlCleanup(d Deps) func(context.Context) (Outcome, error) {
	return func(ctx context.Context) (Outcome, error) {
		if d.TTL == nil {
			return Outcome{Skipped: true, Message: "ttl.db is not open in this process"}, nil
		}
		rows, err := d.TTL.QueryContext(ctx, `SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c
			WHERE m.type = 'table' AND c.name = 'expires_at' ORDER BY m.name`)
		if err != nil {
			return Outcome{}, fmt.Errorf("ttl cleanup: %w", err)
		}
		var tables []string
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return Outcome{}, err
			}
			tables = append(tables, t)
		}
		rows.Close()
		now := time.Now().Unix()
		var parts []string
		var total int64
		for _, t := range tables {
			res, err := d.TTL.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %q WHERE expires_at <= ?`, t), now)
			if err != nil {
				return Outcome{}, fmt.Errorf("ttl cleanup %s: %w", t, err)
			}
			n, _ := res.RowsAffected()
			total += n
			parts = append(parts, fmt.Sprintf("%s %d", t, n))
		}
		if d.Data != nil {
			res, err := d.Data.ExecContext(ctx, `DELETE FROM processed_jobs WHERE done_at < ?`,
				time.Now().Add(-processedJobsKept).Unix())
			if err != nil {
				return Outcome{}, fmt.Errorf("ttl cleanup processed_jobs: %w", err)
			}
			n, _ := res.RowsAffected()
			total += n
			parts = append(parts, fmt.Sprintf("processed_jobs %d", n))
		}
		return Outcome{Message: fmt.Sprintf("%d expired rows deleted (%s)", total, strings.Join(parts, ", "))}, nil
	}
}
