package replica

import (
	"errors"
	"fmt"
	"time"
)

// ErrBroken matches (errors.Is) the *BrokenError Restore returns when the
// point asked for cannot be restored soundly from the replica.
var ErrBroken = errors.New("replica: the point asked for does not restore")

// Point is one state in the replica's history: the database as of one
// transaction.
type Point struct {
	TXID uint64    // Litestream's transaction ID
	Time time.Time // when Litestream shipped it (the LTX file's timestamp)
}

// String returns the point as "txid 0000000000000123, 2026-12-01T15:38:03.17Z".
func (p Point) String() string {
	return fmt.Sprintf("txid %s, %s", formatTXID(p.TXID), formatTime(p.Time))
}

// BrokenError says that the replica's chain of LTX files is broken at or
// before the point a restore asked for: the restore failed while applying
// the files, the restored file failed PRAGMA integrity_check, or a file is
// missing from the chain. Nothing was written at the output path. It names
// the newest earlier point that restores and passes, if one was found.
type BrokenError struct {
	// Asked is the time the restore asked for; zero means the latest point.
	Asked time.Time
	// Failed is the point asked for, which does not restore.
	Failed Point
	// Reason is why it does not.
	Reason error
	// Good is the newest earlier point found that restores and passes
	// integrity_check; a zero TXID means none was found.
	Good Point
	// At, passed as RestoreOptions.Timestamp (the --at of `site restore`),
	// restores exactly Good; zero when none was found.
	At time.Time
	// Unnamed is the newest earlier point found that passes but that no
	// restore by time reaches exactly (a later file carries an earlier
	// timestamp); set only when Good is zero.
	Unnamed Point
	// Tried is how many restores the search for Good ran.
	Tried int
	// Exhausted is true when no earlier point is left untried: with Good
	// zero, the replica has no sound earlier point at all.
	Exhausted bool
}

// Error says in plain words what failed and which point to restore instead.
func (e *BrokenError) Error() string {
	asked := "the latest point"
	if !e.Asked.IsZero() {
		asked = "the point as of " + formatTime(e.Asked)
	}
	msg := fmt.Sprintf("%s (%s) fails its check: %v", asked, e.Failed, e.Reason)
	switch {
	case e.Good.TXID != 0:
		return msg + fmt.Sprintf("; the newest point that passes is txid %s from %s: restore it with --at %s",
			formatTXID(e.Good.TXID), formatTime(e.Good.Time), formatTime(e.At))
	case e.Unnamed.TXID != 0:
		return msg + fmt.Sprintf("; txid %s from %s passes, but no --at time restores exactly it (a file after it carries an earlier timestamp)",
			formatTXID(e.Unnamed.TXID), formatTime(e.Unnamed.Time))
	case e.Tried == 0 && e.Exhausted:
		return msg + "; the replica holds no earlier point"
	case e.Exhausted:
		return msg + fmt.Sprintf("; no earlier point passes either (%d restores tried)", e.Tried)
	default:
		return msg + fmt.Sprintf("; no earlier point passed in the %d restores tried", e.Tried)
	}
}

// Is reports whether target is ErrBroken.
func (e *BrokenError) Is(target error) bool { return target == ErrBroken }

// Unwrap returns the reason the point failed.
func (e *BrokenError) Unwrap() error { return e.Reason }

func formatTXID(txid uint64) string { return fmt.Sprintf("%016x", txid) }

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
