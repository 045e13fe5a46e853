package backup

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"site/embedded/replica"
)

// TierReplica is the name under which checks of the Litestream replica are
// recorded beside the offsite tiers' verifications.
const TierReplica = "replica"

// ReplicaCheck proves that the Litestream replica of data.db restores: it
// restores the latest point into a scratch file (Litestream's restore runs
// integrity_check on it) and compares the row count of every table with
// the live database. When a check fails it raises an alert, forces a full
// snapshot (so later points no longer depend on the broken files) and checks
// again. Set the fields, then call Check, or Run for checks at a start and
// every Interval.
type ReplicaCheck struct {
	// Target is where the replica lives.
	Target replica.Target
	// Live is data.db (a reader will do) to compare counts with.
	Live *sql.DB
	// Record stores each result (RecordVerify into data.db's writer); nil records nothing.
	Record func(context.Context, VerifyResult) error
	// Sync ships what is committed to the replica now; Snapshot writes a
	// full snapshot to it (the Replicator's methods).
	Sync, Snapshot func(context.Context) error
	// Alert raises an alert with a message (Alerter.Raise); nil only logs.
	Alert func(context.Context, string)
	// OnResult is called with each result, for metrics; may be nil.
	OnResult func(VerifyResult)
	// ScratchDir receives the temporary restores.
	ScratchDir string
	// Interval is the time between checks in Run.
	Interval time.Duration
	Logger   *slog.Logger

	mu   sync.Mutex
	last *VerifyResult
}

// Run checks now, then every Interval, until ctx ends.
func (c *ReplicaCheck) Run(ctx context.Context) {
	for {
		c.CheckAndRepair(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.Interval):
		}
	}
}

// Err is nil unless the last check failed; then it says why. It is the
// cron role's readiness check of the replica.
func (c *ReplicaCheck) Err(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || c.last.OK {
		return nil
	}
	return fmt.Errorf("degraded: the replica failed its restore check at %s: %s",
		c.last.Finish.UTC().Format(time.RFC3339), c.last.Message)
}

// CheckAndRepair checks the replica; when the check fails it alerts,
// forces a full snapshot and checks again, and returns the last result.
func (c *ReplicaCheck) CheckAndRepair(ctx context.Context) VerifyResult {
	res, err := c.Check(ctx)
	if err == nil || ctx.Err() != nil {
		return res
	}
	msg := "the replica of data.db failed its restore check: " + err.Error()
	if serr := c.Snapshot(ctx); serr != nil {
		c.alert(ctx, msg+"; forcing a fresh snapshot failed too: "+serr.Error())
		return res
	}
	again, err := c.Check(ctx)
	if err != nil {
		c.alert(ctx, msg+"; a fresh snapshot was written and the replica still fails: "+err.Error())
	} else {
		c.alert(ctx, msg+"; a fresh snapshot was written and the replica now passes")
	}
	return again
}

func (c *ReplicaCheck) alert(ctx context.Context, msg string) {
	if c.Alert != nil {
		c.Alert(ctx, msg)
		return
	}
	c.logger().ErrorContext(ctx, "replica check", "message", msg)
}

func (c *ReplicaCheck) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

// Check restores the latest point of the replica into a scratch file and
// compares it with the live database: the restore must pass integrity_check,
// and each table must hold between the rows the live table held before the
// replica was synced and after the restore (the writes of those seconds
// may or may not be in it). A failed attempt is tried once more before it
// counts. The result is recorded and kept for Err.
func (c *ReplicaCheck) Check(ctx context.Context) (VerifyResult, error) {
	res, err := c.check(ctx)
	if err != nil && ctx.Err() == nil {
		// One attempt can fail on what was going on meanwhile (rows pruned
		// and added in the same seconds, an LTX file compacted away while
		// the restore read the listing); a broken replica fails both.
		c.logger().WarnContext(ctx, "replica check failed once; trying again", "err", err)
		res, err = c.check(ctx)
	}
	res.Tier, res.Finish = TierReplica, time.Now()
	res.OK = err == nil
	if err != nil {
		res.Message = err.Error()
	}
	if ctx.Err() != nil {
		return res, err // stopping: a check cut short says nothing of the replica
	}
	c.mu.Lock()
	c.last = &res
	c.mu.Unlock()
	if c.Record != nil {
		if rerr := c.Record(ctx, res); rerr != nil {
			c.logger().ErrorContext(ctx, "record replica check", "err", rerr)
		}
	}
	if c.OnResult != nil {
		c.OnResult(res)
	}
	if err != nil {
		c.logger().ErrorContext(ctx, "replica check failed", "err", err, "took", res.Finish.Sub(res.Started).Round(time.Millisecond))
		return res, err
	}
	c.logger().InfoContext(ctx, "replica check passed", "result", res.Message, "took", res.Finish.Sub(res.Started).Round(time.Millisecond))
	return res, nil
}

func (c *ReplicaCheck) check(ctx context.Context) (VerifyResult, error) {
	res := VerifyResult{Started: time.Now()}
	before, err := tableCounts(ctx, c.Live)
	if err != nil {
		return res, fmt.Errorf("count live rows: %w", err)
	}
	if err := c.Sync(ctx); err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp(c.ScratchDir, "replica-check-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "data.db")
	if err := replica.Restore(ctx, replica.RestoreOptions{Target: c.Target, OutputPath: path, Logger: c.logger()}); err != nil {
		return res, fmt.Errorf("restore the latest point: %w", err)
	}
	res.Integrity = "ok" // Restore refuses a file that fails integrity_check
	if fi, err := os.Stat(path); err == nil {
		res.Bytes = fi.Size()
	}
	after, err := tableCounts(ctx, c.Live)
	if err != nil {
		return res, fmt.Errorf("count live rows: %w", err)
	}
	restored, err := openCounts(ctx, path)
	if err != nil {
		return res, fmt.Errorf("count restored rows: %w", err)
	}
	var bad []string
	var rows int64
	for table, lo := range before {
		hi, ok := after[table]
		if !ok {
			continue // dropped meanwhile
		}
		lo, hi = min(lo, hi), max(lo, hi)
		got, ok := restored[table]
		switch {
		case !ok:
			bad = append(bad, table+" missing")
		case got < lo || got > hi:
			bad = append(bad, fmt.Sprintf("%s has %d rows, live %d..%d", table, got, lo, hi))
		}
		rows += got
	}
	res.Objects = int64(len(before))
	if len(bad) > 0 {
		return res, fmt.Errorf("restored rows differ from data.db: %s", strings.Join(bad, "; "))
	}
	res.Message = fmt.Sprintf("latest point restored (%s), integrity ok, %d tables (%d rows) match data.db", humanBytes(res.Bytes), len(before), rows)
	return res, nil
}

// tableCounts returns the rows of every table of db but SQLite's and
// Litestream's own.
func tableCounts(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_litestream\_%' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(names))
	for _, name := range names {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(name, `"`, `""`)+`"`).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		counts[name] = n
	}
	return counts, nil
}

// openCounts returns tableCounts of the database file at path.
func openCounts(ctx context.Context, path string) (map[string]int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return tableCounts(ctx, db)
}
