package backup

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LastVerifies returns the latest verification of each tier recorded in
// data.db (db may be a reader); a tier never verified is absent.
func LastVerifies(ctx context.Context, db *sql.DB) (map[string]VerifyResult, error) {
	rows, err := db.QueryContext(ctx, `SELECT tier, ok, integrity, objects, bytes, drift, variants_checked,
		variants_bad, message, started_at, finished_at FROM backup_verifies
		WHERE id IN (SELECT max(id) FROM backup_verifies GROUP BY tier)`)
	if err != nil {
		return nil, fmt.Errorf("backup status: %w", err)
	}
	defer rows.Close()
	out := map[string]VerifyResult{}
	for rows.Next() {
		var r VerifyResult
		var ok int
		var started, finished int64
		if err := rows.Scan(&r.Tier, &ok, &r.Integrity, &r.Objects, &r.Bytes, &r.Drift, &r.VariantsChecked,
			&r.VariantsBad, &r.Message, &started, &finished); err != nil {
			return nil, err
		}
		r.OK = ok == 1
		r.Started, r.Finish = time.UnixMilli(started), time.UnixMilli(finished)
		out[r.Tier] = r
	}
	return out, rows.Err()
}

// HumanBytes formats n as "12.3 MB".
func HumanBytes(n int64) string { return humanBytes(n) }
