package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"site/app/store"
	"site/internal/testkit"
)

var sets = map[string]struct {
	openIn func(testing.TB, string) *store.DB // opens the set's file in a dir
	file   string
	tables []string
}{
	"data": {testkit.DataDBIn, store.DataFile, []string{"page_view_batches", "processed_jobs"}},
	"ttl":  {testkit.TTLDBIn, store.TTLFile, []string{"one_time_codes", "rate_limits", "sessions"}},
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return c
}

type migration struct {
	name      string
	appliedAt int64
}

func applied(tb testing.TB, db *store.DB) []migration {
	tb.Helper()
	rows, err := db.Read.QueryContext(ctx(tb), `SELECT name, applied_at FROM schema_migrations ORDER BY name`)
	if err != nil {
		tb.Fatalf("schema_migrations: %v", err)
	}
	defer rows.Close()
	var ms []migration
	for rows.Next() {
		var m migration
		if err := rows.Scan(&m.name, &m.appliedAt); err != nil {
			tb.Fatal(err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return ms
}

func tables(tb testing.TB, db *store.DB) []string {
	tb.Helper()
	rows, err := db.Read.QueryContext(ctx(tb), `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// pkgDir is the package directory, taken before any test (the objects
// server of another test changes the working directory).
var pkgDir, _ = os.Getwd()

// migrationFiles lists the .sql files of a set as they are on disk.
func migrationFiles(tb testing.TB, set string) []string {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(pkgDir, "migrations", set))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestMigrationsApplyOnce(t *testing.T) {
	for set, s := range sets {
		t.Run(set, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, s.file)
			db := s.openIn(t, dir)
			if db.Path != file {
				t.Errorf("Path = %q, want %q", db.Path, file)
			}
			first := applied(t, db)
			var names []string
			for _, m := range first {
				names = append(names, m.name)
				if m.appliedAt < time.Now().Add(-time.Minute).Unix() || m.appliedAt > time.Now().Unix() {
					t.Errorf("%s applied_at %d is not now", m.name, m.appliedAt)
				}
			}
			if want := migrationFiles(t, set); !slices.Equal(names, want) {
				t.Fatalf("applied %v, want every embedded migration once: %v", names, want)
			}
			got := tables(t, db)
			for _, want := range append(slices.Clone(s.tables), "schema_migrations") {
				if !slices.Contains(got, want) {
					t.Errorf("table %s missing; tables %v", want, got)
				}
			}
			if _, err := db.Write.ExecContext(ctx(t), `CREATE TABLE marker (x)`); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}

			// A re-applied migration would get a new applied_at (seconds).
			last := first[len(first)-1].appliedAt
			testkit.WaitFor(t, time.Minute, "the clock past the second the migrations were applied in", func() bool {
				return time.Now().Unix() > last
			})
			db2 := s.openIn(t, dir)
			if again := applied(t, db2); !slices.Equal(again, first) {
				t.Fatalf("after reopen schema_migrations = %v, want unchanged %v", again, first)
			}
			if got := tables(t, db2); !slices.Contains(got, "marker") {
				t.Fatalf("reopen lost data: tables %v", got)
			}
		})
	}
}

func TestPragmas(t *testing.T) {
	db := testkit.DataDB(t)
	want := map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "5000",
		"synchronous":  "1",
	}
	check := func(t *testing.T, c *sql.Conn, queryOnly string) {
		t.Helper()
		w := maps(want, "query_only", queryOnly)
		for pragma, v := range w {
			var got string
			if err := c.QueryRowContext(ctx(t), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", pragma, err)
			}
			if !strings.EqualFold(got, v) {
				t.Errorf("PRAGMA %s = %s, want %s", pragma, got, v)
			}
		}
	}

	t.Run("writer", func(t *testing.T) {
		c, err := db.Write.Conn(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		check(t, c, "0")
	})
	t.Run("readers", func(t *testing.T) {
		// Hold several reader connections at once so each is a distinct one.
		var conns []*sql.Conn
		for range 4 {
			c, err := db.Read.Conn(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			check(t, c, "1")
			c.Close()
		}
	})
}

func maps(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

func TestReadersCannotWrite(t *testing.T) {
	db := testkit.DataDB(t)
	if err := db.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	_, err := db.Read.ExecContext(ctx(t), `INSERT INTO processed_jobs (id, kind, done_at) VALUES ('r', 'x', 1)`)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		t.Fatalf("insert through a reader: err = %v, want a read-only error", err)
	}
	for i := range 4 { // any reader of the pool, not just the first
		if _, err := db.Read.ExecContext(ctx(t), `CREATE TABLE nope (x)`); err == nil {
			t.Fatalf("reader %d created a table", i)
		}
	}

	if _, err := db.Write.ExecContext(ctx(t), `INSERT INTO processed_jobs (id, kind, done_at) VALUES ('w', 'x', 1)`); err != nil {
		t.Fatalf("insert through the writer: %v", err)
	}
	var n int
	if err := db.Read.QueryRowContext(ctx(t), `SELECT count(*) FROM processed_jobs`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("readers see %d rows (%v), want the writer's 1", n, err)
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	db := testkit.DataDB(t)
	for _, q := range []string{
		`CREATE TABLE parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id))`,
	} {
		if _, err := db.Write.ExecContext(ctx(t), q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Write.ExecContext(ctx(t), `INSERT INTO child (id, parent_id) VALUES (1, 99)`); err == nil {
		t.Fatal("inserted a child with no parent: foreign keys are off")
	}
}

// TestWriterBeginsImmediate checks that a writer transaction takes the write
// lock at BEGIN, so two writers never deadlock upgrading read locks.
func TestWriterBeginsImmediate(t *testing.T) {
	db := testkit.DataDB(t)
	file := db.Path
	tx, err := db.Write.BeginTx(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	other, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.ExecContext(ctx(t), `INSERT INTO processed_jobs (id, kind, done_at) VALUES ('o', 'x', 1)`)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "locked") {
		t.Fatalf("write beside an empty writer transaction: err = %v, want database is locked", err)
	}
}

// TestConcurrentOpenSameFile opens a new data.db from two goroutines at once,
// as two roles starting together on a fresh data dir do, many times over:
// both opens must succeed and the migrations must be applied once.
func TestConcurrentOpenSameFile(t *testing.T) {
	const rounds, openers = 40, 2
	want := migrationFiles(t, "data")
	for round := range rounds {
		file := filepath.Join(t.TempDir(), store.DataFile)
		var wg sync.WaitGroup
		dbs := make([]*store.DB, openers)
		errs := make([]error, openers)
		start := make(chan struct{})
		for i := range openers {
			wg.Go(func() {
				<-start
				dbs[i], errs[i] = store.OpenData(ctx(t), file)
			})
		}
		close(start)
		wg.Wait()
		for _, db := range dbs {
			if db != nil {
				defer db.Close()
			}
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: opener %d of %d: %v", round, i, openers, err)
			}
		}
		if ms := applied(t, dbs[0]); len(ms) != len(want) {
			t.Fatalf("round %d: schema_migrations has %d rows, want %d", round, len(ms), len(want))
		}
		for _, db := range dbs {
			if err := db.Ping(ctx(t)); err != nil {
				t.Fatalf("round %d: ping: %v", round, err)
			}
		}
	}
}

func TestOpenFailsOnMissingDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "no", "such", "dir", store.DataFile)
	db, err := store.OpenData(ctx(t), file)
	if err == nil {
		db.Close()
		t.Fatal("opened a database in a directory that does not exist")
	}
	if !strings.Contains(err.Error(), file) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestCloseIsSafe(t *testing.T) {
	db, err := store.OpenTTL(ctx(t), filepath.Join(t.TempDir(), store.TTLFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.Ping(ctx(t)); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
	var zero store.DB
	if err := zero.Close(); err != nil {
		t.Fatalf("Close of an empty DB: %v", err)
	}
}

// TestOpenPathWithURLCharacters opens data.db in directories whose names
// mean something in a URI: the database must land at exactly that path.
func TestOpenPathWithURLCharacters(t *testing.T) {
	for _, name := range []string{"a#b", "a?b", "a%41b", "a b"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, store.DataFile)
			db := testkit.DataDBIn(t, dir)
			if _, err := db.Write.ExecContext(ctx(t), `INSERT INTO processed_jobs (id, kind, done_at) VALUES ('p', 'x', 1)`); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(file); err != nil {
				t.Fatalf("database not at %s: %v", file, err)
			}
		})
	}
}

// TestPageViewsMigrationsKeepRows: migration 0005 rebuilt page_views
// without the UNIQUE index on job_id, and 0006 moves its rows into the
// batch log behind the page_views view; a row stored before both reads back
// through the view with every column and its id.
func TestPageViewsMigrationsKeepRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := testkit.DataDBIn(t, dir)
	// Back to the table as 0001 and 0003 made it, with rows, and 0005 and 0006 not applied.
	for _, q := range []string{
		`DROP VIEW page_views`,
		`DROP TABLE page_view_batches`,
		`CREATE TABLE page_views (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
			referrer TEXT NOT NULL DEFAULT '', user_agent TEXT NOT NULL DEFAULT '', viewed_at INTEGER NOT NULL)`,
		`CREATE INDEX page_views_viewed_at ON page_views (viewed_at)`,
		`ALTER TABLE page_views ADD COLUMN visitor TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE page_views ADD COLUMN new_visitor INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE page_views ADD COLUMN country TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE page_views ADD COLUMN city TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE page_views ADD COLUMN browser TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE page_views ADD COLUMN os TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE page_views ADD COLUMN device TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE page_views ADD COLUMN referrer_host TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE page_views ADD COLUMN utm_source TEXT NOT NULL DEFAULT ''`,
		`INSERT INTO page_views (id, job_id, path, referrer, viewed_at, visitor, new_visitor, country, city, browser, os, device, referrer_host, utm_source)
			VALUES (7, 'pv-1', '/a "q"', 'https://r.example/', 1000, 'v1', 1, 'DE', 'Berlin', 'Firefox', 'Linux', 'desktop', 'r.example', 'feed')`,
		`INSERT INTO page_views (id, job_id, path, viewed_at) VALUES (8, 'pv-2.0', '/b', 2000)`,
		`DELETE FROM schema_migrations WHERE name LIKE '0005%' OR name LIKE '0006%'`,
	} {
		if _, err := db.Write.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	db = testkit.DataDBIn(t, dir)
	var got []string
	rows, err := db.Read.Query(`SELECT job_id || path || referrer || viewed_at || visitor || new_visitor || country || city ||
		browser || os || device || referrer_host || utm_source FROM page_views ORDER BY viewed_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{`pv-1/a "q"https://r.example/1000v11DEBerlinFirefoxLinuxdesktopr.examplefeed`, "pv-2.0/b20000"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows after the migrations = %q, want %q", got, want)
	}
	var batches int
	db.Read.QueryRow(`SELECT count(*) FROM page_view_batches WHERE views = 1`).Scan(&batches)
	if batches != 2 {
		t.Fatalf("%d one-view batch rows, want 2", batches)
	}
}

// TestOnlyLitestreamCheckpointsData: data.db's connections never checkpoint
// (Litestream does, after shipping the frames); ttl.db, not replicated,
// keeps SQLite's automatic checkpoints.
func TestOnlyLitestreamCheckpointsData(t *testing.T) {
	data, ttl := testkit.DataDB(t), testkit.TTLDB(t)
	for _, c := range []struct {
		name string
		db   *sql.DB
		want int
	}{{"data.db writer", data.Write, 0}, {"data.db reader", data.Read, 0}, {"ttl.db writer", ttl.Write, 1000}} {
		var got int
		if err := c.db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: wal_autocheckpoint = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestFilesOnlyForTheSiteUser: data.db, ttl.db and their -wal and -shm are
// created 0600, and an existing file readable by others is taken down to
// 0600 at open.
func TestFilesOnlyForTheSiteUser(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ttlPath := filepath.Join(dir, store.TTLFile)
	if err := os.WriteFile(ttlPath, nil, 0o644); err != nil { // as an older site left it
		t.Fatal(err)
	}
	data, ttl := testkit.DataDBIn(t, dir), testkit.TTLDBIn(t, dir)
	for _, db := range []*store.DB{data, ttl} {
		if _, err := db.Write.ExecContext(ctx, "CREATE TABLE mode_probe (x)"); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{db.Path, db.Path + "-wal", db.Path + "-shm"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s: mode %o, want 600", filepath.Base(name), mode)
			}
		}
	}
}
