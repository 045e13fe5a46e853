package testkit

import (
	"context"
	"path/filepath"
	"testing"

	"site/app/store"
)

// DataDB opens a fresh data.db in a new tb.TempDir(), as the application
// opens it (every migration applied); it closes at cleanup.
func DataDB(tb testing.TB) *store.DB {
	tb.Helper()
	return DataDBIn(tb, tb.TempDir())
}

// DataDBIn opens data.db in dir, creating it if absent; it closes at
// cleanup. Two calls on one dir are two processes sharing the file.
func DataDBIn(tb testing.TB, dir string) *store.DB {
	tb.Helper()
	return open(tb, store.OpenData, filepath.Join(dir, store.DataFile))
}

// TTLDB opens a fresh ttl.db in a new tb.TempDir(), as the application
// opens it (every migration applied); it closes at cleanup.
func TTLDB(tb testing.TB) *store.DB {
	tb.Helper()
	return TTLDBIn(tb, tb.TempDir())
}

// TTLDBIn opens ttl.db in dir, creating it if absent; it closes at cleanup.
func TTLDBIn(tb testing.TB, dir string) *store.DB {
	tb.Helper()
	return open(tb, store.OpenTTL, filepath.Join(dir, store.TTLFile))
}

func open(tb testing.TB, opener func(context.Context, string) (*store.DB, error), file string) *store.DB {
	tb.Helper()
	db, err := opener(context.Background(), file)
	if err != nil {
		tb.Fatalf("open %s: %v", file, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}
