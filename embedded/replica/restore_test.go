package replica_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"site/embedded/replica"
	"site/internal/testkit"
)

// A restore as of T has what was synced before T and nothing after.
func TestRestoreAtTime(t *testing.T) {
	before := time.Now().Add(-time.Minute)
	path, db := MustCreateDB(t)
	target := newTarget(t)
	r := MustOpenReplicator(t, path, target, time.Second)

	insert(t, db, "A")
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	at := nextMillisecond(t)
	insert(t, db, "B")
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}

	out := MustRestore(t, target, at)
	mustIntegrityOK(t, out)
	if got := names(t, out); !slices.Equal(got, []string{"A"}) {
		t.Fatalf("as of T: %v, want [A]", got)
	}
	out = MustRestore(t, target, time.Time{})
	if got := names(t, out); !slices.Equal(got, []string{"A", "B"}) {
		t.Fatalf("latest: %v, want [A B]", got)
	}

	// Before the first backup: a clear error and no file.
	early := filepath.Join(t.TempDir(), "early.db")
	err := replica.Restore(t.Context(), replica.RestoreOptions{Target: target, OutputPath: early, Timestamp: before})
	if !errors.Is(err, replica.ErrTooEarly) {
		t.Fatalf("restore before the first backup: %v, want ErrTooEarly", err)
	}
	t.Logf("as of %s: %v", before.Format(time.RFC3339), err)
	if _, err := os.Stat(early); !os.IsNotExist(err) {
		t.Fatalf("a file was written: %v", err)
	}
}

// An existing output is refused without Force and replaced with it, stale
// -wal/-shm files included.
func TestRestoreOverwrite(t *testing.T) {
	path, db := MustCreateDB(t)
	target := newTarget(t)
	r := MustOpenReplicator(t, path, target, time.Second)
	insert(t, db, "replicated")
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "data.db")
	other := MustOpenDB(t, out)
	if _, err := other.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	insert(t, other, "local")
	_ = other.Close()
	for _, s := range []string{"-wal", "-shm"} {
		if err := os.WriteFile(out+s, []byte("stale"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	staleMeta := filepath.Join(filepath.Dir(out), ".data.db-litestream")
	if err := os.MkdirAll(staleMeta, 0o755); err != nil {
		t.Fatal(err)
	}

	err := replica.Restore(t.Context(), replica.RestoreOptions{Target: target, OutputPath: out, Logger: testLogger(t)})
	if !errors.Is(err, replica.ErrExists) {
		t.Fatalf("restore onto an existing file: %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(out + "-wal"); string(b) != "stale" {
		t.Fatal("refused restore touched the existing files")
	}

	err = replica.Restore(t.Context(), replica.RestoreOptions{Target: target, OutputPath: out, Force: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{out + "-wal", out + "-shm", staleMeta} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s survived the forced restore: %v", p, err)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".data.db.restore-*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	mustIntegrityOK(t, out)
	if got := names(t, out); !slices.Equal(got, []string{"replicated"}) {
		t.Fatalf("after forced restore: %v, want [replicated]", got)
	}
}

// An empty replica is ErrNoBackup, not an empty database.
func TestRestoreEmptyReplica(t *testing.T) {
	out := filepath.Join(t.TempDir(), "data.db")
	err := replica.Restore(t.Context(), replica.RestoreOptions{Target: newTarget(t), OutputPath: out})
	if !errors.Is(err, replica.ErrNoBackup) {
		t.Fatalf("restore from an empty replica: %v, want ErrNoBackup", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a file was written: %v", err)
	}
}

// The restore drill: bring data.db back to an earlier time in place, resume
// replication on it, and the replica's latest state is the restored one plus
// what came after, not the history that was rolled back.
func TestReplicateAfterRestoreInPlace(t *testing.T) {
	path, db := MustCreateDB(t)
	target := newTarget(t)
	r := MustOpenReplicator(t, path, target, time.Second)
	insert(t, db, "A")
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	at := nextMillisecond(t)
	insert(t, db, "B")
	_ = db.Close()
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	err := replica.Restore(t.Context(), replica.RestoreOptions{
		Target: target, OutputPath: path, Timestamp: at, Force: true, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, path); !slices.Equal(got, []string{"A"}) {
		t.Fatalf("restored in place: %v, want [A]", got)
	}

	db = MustOpenDB(t, path)
	r = MustOpenReplicator(t, path, target, time.Second)
	insert(t, db, "C")
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := MustRestore(t, target, time.Time{})
	mustIntegrityOK(t, out)
	if got := names(t, out); !slices.Equal(got, []string{"A", "C"}) {
		t.Fatalf("latest after resuming: %v, want [A C]", got)
	}
}

// nextMillisecond waits until the wall clock has left the millisecond it is
// in and returns the start of the new one. LTX files carry their time to the
// millisecond and a restore as of T uses the files from before T, so the
// files shipped before the call are in a restore as of the returned time
// and the files shipped after it are not.
func nextMillisecond(t *testing.T) time.Time {
	t.Helper()
	now := time.Now()
	var at time.Time
	testkit.WaitFor(t, time.Minute, "the clock to reach the next millisecond", func() bool {
		at = time.Now().Truncate(time.Millisecond)
		return at.After(now)
	})
	return at
}
