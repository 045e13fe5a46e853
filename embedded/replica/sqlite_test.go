package replica_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"site/embedded/replica"
)

// dsn is how the application opens data.db (app/store), less
// wal_autocheckpoint(0): these tests checkpoint as SQLite does by default.
func dsn(path string) string {
	return "file:" + path + "?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)" +
		"&_pragma=synchronous(normal)&_pragma=foreign_keys(on)"
}

// MustCreateDB creates data.db in a temp dir with a table "items" and
// returns its path and an open pool, closed at cleanup.
func MustCreateDB(t testing.TB) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.db")
	db := MustOpenDB(t, path)
	if _, err := db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return path, db
}

// MustOpenDB opens a pool on path, closed at cleanup.
func MustOpenDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// MustOpenReplicator starts replication of path to target; closed at cleanup.
func MustOpenReplicator(t testing.TB, path string, target replica.Target, interval time.Duration) *replica.Replicator {
	t.Helper()
	r := &replica.Replicator{DBPath: path, Target: target, SyncInterval: interval, Logger: testLogger(t)}
	if err := r.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = r.Close(ctx)
	})
	return r
}

// MustRestore restores target as of at (zero: latest) into a new file.
func MustRestore(t testing.TB, target replica.Target, at time.Time) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "restored.db")
	if err := replica.Restore(t.Context(), replica.RestoreOptions{
		Target: target, OutputPath: out, Timestamp: at, Logger: testLogger(t),
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func insert(t testing.TB, db *sql.DB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := db.Exec(`INSERT INTO items (name) VALUES (?)`, n); err != nil {
			t.Fatal(err)
		}
	}
}

// names returns the item names in a database file.
func names(t testing.TB, path string) []string {
	t.Helper()
	db := MustOpenDB(t, path)
	defer db.Close()
	return rowsOf(t, db)
}

func count(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM items`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// mustIntegrityOK fails unless PRAGMA integrity_check says "ok".
func mustIntegrityOK(t testing.TB, path string) {
	t.Helper()
	db := MustOpenDB(t, path)
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		t.Fatal(err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check %s: %s", path, res)
	}
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}
