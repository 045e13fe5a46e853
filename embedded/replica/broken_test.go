package replica_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"site/embedded/replica"
)

// insertSteps returns n steps that each insert one row, "r1" to "rn".
func insertSteps(n int) []string {
	steps := make([]string, n)
	for i := range steps {
		steps[i] = fmt.Sprintf(`INSERT INTO items (name) VALUES ('r%d')`, i+1)
	}
	return steps
}

// mustBroken restores target as of at (zero: latest), wants a
// *BrokenError, and checks that nothing was left in the output directory.
func mustBroken(t *testing.T, target replica.Target, at time.Time) *replica.BrokenError {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "data.db")
	err := replica.Restore(t.Context(), replica.RestoreOptions{
		Target: target, OutputPath: out, Timestamp: at, Logger: testLogger(t),
	})
	if !errors.Is(err, replica.ErrBroken) {
		t.Fatalf("restore of a broken replica: %v, want ErrBroken", err)
	}
	var be *replica.BrokenError
	if !errors.As(err, &be) {
		t.Fatalf("restore of a broken replica: %T, want *replica.BrokenError", err)
	}
	t.Logf("restore as of %v: %v", at, err)
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Fatalf("files left in the output directory: %v", left)
	}
	if be.Reason == nil || be.Failed.TXID == 0 || be.Failed.Time.IsZero() {
		t.Fatalf("the error does not name the failed point and why: %+v", be)
	}
	return be
}

// mustGood checks that a *BrokenError names want as the good point, says
// so in its message, and that restoring as of its At gives exactly the rows
// of that point.
func mustGood(t *testing.T, h *history, be *replica.BrokenError, want uint64) {
	t.Helper()
	if be.Good.TXID != want {
		t.Fatalf("good point txid %016x, want %016x: %v", be.Good.TXID, want, be)
	}
	if be.At.IsZero() || !be.At.After(be.Good.Time) {
		t.Fatalf("At %v does not follow the good point's time %v", be.At, be.Good.Time)
	}
	wantMsg := fmt.Sprintf("the newest point that passes is txid %016x from %s: restore it with --at %s",
		want, be.Good.Time.UTC().Format(time.RFC3339Nano), be.At.UTC().Format(time.RFC3339Nano))
	if !strings.Contains(be.Error(), wantMsg) {
		t.Fatalf("message %q\ndoes not contain %q", be.Error(), wantMsg)
	}
	out := MustRestore(t, h.target, be.At)
	mustIntegrityOK(t, out)
	if got, rows := names(t, out), h.rows[h.step(t, want)]; !slices.Equal(got, rows) {
		t.Fatalf("restored as of At: %v, want the rows of txid %016x: %v", got, want, rows)
	}
}

// An L0 file truncated in the middle of the chain: the latest point does
// not restore, and the error names the point before the file.
func TestRestoreBrokenTruncatedFile(t *testing.T) {
	h := buildHistory(t, "", insertSteps(6)...)
	bad := h.txids[4]
	truncateObject(t, l0Key(h.target, bad))

	be := mustBroken(t, h.target, time.Time{})
	if be.Failed.TXID != h.txids[6] || !be.Asked.IsZero() {
		t.Fatalf("failed point %+v asked %v, want the latest, txid %016x", be.Failed, be.Asked, h.txids[6])
	}
	if !strings.HasPrefix(be.Error(), "the latest point (txid ") {
		t.Fatalf("message %q", be.Error())
	}
	mustGood(t, h, be, h.txids[3])

	// A time after the damaged file is refused the same way.
	be = mustBroken(t, h.target, time.Now())
	mustGood(t, h, be, h.txids[3])
}

// An L0 file deleted from the chain: the latest restore, and a restore by
// time past the hole (which Litestream alone would land silently on the
// point before the hole), both refuse and name that point; a time before
// the hole still restores.
func TestRestoreBrokenMissingFile(t *testing.T) {
	h := buildHistory(t, "", insertSteps(6)...)
	before := timestampOf(t, l0Key(h.target, h.txids[2])).Add(time.Millisecond)
	removeObject(t, l0Key(h.target, h.txids[4]))

	be := mustBroken(t, h.target, time.Time{})
	mustGood(t, h, be, h.txids[3])

	now := time.Now()
	be = mustBroken(t, h.target, now)
	if be.Failed.TXID != h.txids[6] || !be.Asked.Equal(now) {
		t.Fatalf("failed point %+v asked %v, want txid %016x asked %v", be.Failed, be.Asked, h.txids[6], now)
	}
	if !strings.Contains(be.Reason.Error(), "hole") || !strings.HasPrefix(be.Error(), "the point as of ") {
		t.Fatalf("message %q", be.Error())
	}
	mustGood(t, h, be, h.txids[3])

	out := MustRestore(t, h.target, before)
	if got := names(t, out); !slices.Equal(got, h.rows[2]) {
		t.Fatalf("restored before the hole: %v, want %v", got, h.rows[2])
	}
}

// An L0 file that misses one page its transaction wrote (a valid LTX file,
// so it applies): the restored file fails integrity_check, and the error
// names the point before it.
func TestRestoreBrokenIntegrity(t *testing.T) {
	long := strings.Repeat("x", 80)
	var bulk []string
	for i := range 100 {
		bulk = append(bulk, fmt.Sprintf("('row-%03d-%s')", i, long))
	}
	h := buildHistory(t, `CREATE INDEX items_name ON items(name)`,
		`INSERT INTO items (name) VALUES `+strings.Join(bulk, ","),
		`UPDATE items SET name = 'renamed' WHERE id = 3`, // a table leaf and index pages
		`INSERT INTO items (name) VALUES ('tail-1')`,
		`INSERT INTO items (name) VALUES ('tail-2')`,
	)
	// Drop the table leaf page (b-tree page type 0x0d) from the UPDATE:
	// the index then has 'renamed' for a row the table still has the old name for.
	dropPages(t, l0Key(h.target, h.txids[2]), func(pgno uint32, data []byte) bool {
		hdr := 0
		if pgno == 1 {
			hdr = 100
		}
		return data[hdr] == 0x0d
	})

	be := mustBroken(t, h.target, time.Time{})
	if !strings.Contains(be.Reason.Error(), "integrity check failed") {
		t.Fatalf("reason %q, want an integrity check failure", be.Reason)
	}
	mustGood(t, h, be, h.txids[1])
}

// The time named must restore exactly the good point even when the file
// after it carries the same timestamp (two transactions shipped within a
// millisecond): the point cannot be told apart by time, so the one before
// it is named.
func TestRestoreBrokenSameTimestamp(t *testing.T) {
	h := buildHistory(t, "", insertSteps(6)...)
	ts := timestampOf(t, l0Key(h.target, h.txids[3]))
	retime(t, l0Key(h.target, h.txids[4]), ts)
	truncateObject(t, l0Key(h.target, h.txids[4]))

	be := mustBroken(t, h.target, time.Time{})
	mustGood(t, h, be, h.txids[2])
}

// With the first file of the chain damaged or gone no point restores, and
// the error says so.
func TestRestoreBrokenNoGoodPoint(t *testing.T) {
	for name, damage := range map[string]func(*testing.T, string){
		"truncated": truncateObject,
		"deleted":   removeObject,
	} {
		t.Run(name, func(t *testing.T) {
			h := buildHistory(t, "", insertSteps(4)...)
			damage(t, l0Key(h.target, h.txids[0]))

			be := mustBroken(t, h.target, time.Time{})
			if be.Failed.TXID != h.txids[4] || be.Good.TXID != 0 || !be.At.IsZero() || !be.Exhausted {
				t.Fatalf("failed %+v, good point %+v at %v exhausted %v: want failed txid %016x and no good point",
					be.Failed, be.Good, be.At, be.Exhausted, h.txids[4])
			}
			if !strings.Contains(be.Error(), "no earlier point passes either") {
				t.Fatalf("message %q", be.Error())
			}
		})
	}
}
