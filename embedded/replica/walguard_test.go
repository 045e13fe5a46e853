package replica_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"site/embedded/replica"
)

// TestReplicatorResumesAfterWALRestart stops replication, changes existing
// rows, restarts the WAL from another connection and writes a little (the
// new WAL generation shorter than where replication stopped), then starts
// replication again: the replica's latest point holds every change.
// Litestream alone resumes on the new generation and misses the changes
// checkpointed in between.
func TestReplicatorResumesAfterWALRestart(t *testing.T) {
	target := newTarget(t)
	path, db := MustCreateDB(t)
	insert(t, db, padded("a", 300)...) // 60 KB: the rows span many pages
	r := &replica.Replicator{DBPath: path, Target: target, SyncInterval: time.Hour, Logger: testLogger(t)}
	if err := r.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := db.Exec(`UPDATE items SET name = 'b' || substr(name, 2)`); err != nil {
		t.Fatal(err)
	}
	var busy, frames, done int
	if err := db.QueryRow(`PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &frames, &done); err != nil || busy != 0 {
		t.Fatalf("wal_checkpoint(RESTART): busy %d, %v", busy, err)
	}
	insert(t, db, "new")

	r = MustOpenReplicator(t, path, target, time.Hour)
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := MustRestore(t, target, time.Time{})
	mustIntegrityOK(t, out)
	if got, want := names(t, out), append(padded("b", 300), "new"); !slices.Equal(got, want) {
		stale := 0
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				stale++
			}
		}
		t.Fatalf("restored %d names, %d of them not as in the database", len(got), stale)
	}
}

// padded is seq with names 200 bytes long.
func padded(prefix string, n int) []string {
	out := seq(prefix, n)
	for i := range out {
		out[i] += strings.Repeat(".", 200)
	}
	return out
}
