// Package store opens the SQLite databases of site (data.db and ttl.db) with
// modernc.org/sqlite: one writer connection, a pool of readers, the pragmas
// Litestream needs, and embedded migrations applied in order at open.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite" // the one SQLite engine in the process; Litestream uses it too
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// Names of the two database files in the data dir.
const (
	DataFile = "data.db"
	TTLFile  = "ttl.db"
)

// DB is one SQLite file with a single writer connection and a reader pool.
type DB struct {
	// Path is the file's absolute path.
	Path string
	// Write is the only connection that writes; transactions begin IMMEDIATE.
	Write *sql.DB
	// Read is a pool of read-only connections.
	Read *sql.DB
}

// pragmas are set on every connection. WAL lets readers run beside the
// writer and is what Litestream replicates.
var pragmas = []string{"journal_mode(wal)", "busy_timeout(5000)", "synchronous(normal)", "foreign_keys(on)"}

// replicatedPragmas are added on data.db, which Litestream replicates.
// wal_autocheckpoint(0): the app never checkpoints it; only Litestream does,
// after it has shipped the frames. A checkpoint by the app lets the next
// write restart the WAL, and while the replicator is stopped (the cron role
// away, or between restarts) the frames written since it last looked would
// be gone from the WAL before it could ship them. While nobody checkpoints
// the WAL grows; WALBytes reports how far, for the alert that says cron is
// away. ttl.db is not replicated and keeps SQLite's automatic checkpoints.
var replicatedPragmas = []string{"wal_autocheckpoint(0)"}

func dsn(file string, readOnly, replicated bool) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if replicated {
		for _, p := range replicatedPragmas {
			q.Add("_pragma", p)
		}
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	// A URL, so that '#', '?' and '%' in the path stay part of the path.
	return (&url.URL{Scheme: "file", Path: file, RawQuery: q.Encode()}).String()
}

// OpenData opens data.db at file and applies its migrations.
func OpenData(ctx context.Context, file string) (*DB, error) { return open(ctx, file, "data") }

// OpenTTL opens ttl.db at file and applies its migrations.
func OpenTTL(ctx context.Context, file string) (*DB, error) { return open(ctx, file, "ttl") }

func open(ctx context.Context, file, set string) (*DB, error) {
	if err := restrictMode(file); err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	replicated := set == "data"
	w, err := sql.Open("sqlite", dsn(file, false, replicated))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := pingWhileBusy(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	db := &DB{Path: file, Write: w}
	if err := db.migrate(ctx, set); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", file, err)
	}
	r, err := sql.Open("sqlite", dsn(file, true, replicated))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	db.Read = r
	return db, nil
}

// fileMode is the mode of the database files: they hold readers' data and
// the site's content, for the site's user only. SQLite gives the -wal and
// -shm files the mode of the database file.
const fileMode = 0o600

// restrictMode creates file empty with fileMode (an empty file is an empty
// SQLite database), or takes the mode of an existing file and its sidecars
// down to fileMode.
func restrictMode(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	if err == nil {
		return f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, name := range []string{file, file + "-wal", file + "-shm"} {
		if err := os.Chmod(name, fileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// pingWhileBusy opens the first connection. Switching a new file to WAL
// answers SQLITE_BUSY at once (busy_timeout does not apply) when another
// process is doing the same, as roles starting together on a fresh data dir
// do; so retry for a while.
func pingWhileBusy(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close closes the readers, then the writer.
func (db *DB) Close() error {
	var errs []error
	if db.Read != nil {
		errs = append(errs, db.Read.Close())
	}
	if db.Write != nil {
		errs = append(errs, db.Write.Close())
	}
	return errors.Join(errs...)
}

// WALBytes returns the size of the database's WAL file, 0 when there is none.
func (db *DB) WALBytes() (int64, error) {
	fi, err := os.Stat(db.Path + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("wal size: %w", err)
	}
	return fi.Size(), nil
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// migrate applies the set's migrations not yet recorded, each in its own
// IMMEDIATE transaction, so processes starting together apply each once.
func (db *DB) migrate(ctx context.Context, set string) error {
	dir := path.Join("migrations", set)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID`); err != nil {
		return err
	}
	for _, name := range names {
		body, err := migrations.ReadFile(path.Join(dir, name))
		if err != nil {
			return err
		}
		if err := db.apply(ctx, name, string(body)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, name, body string) error {
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// IsFull reports whether err is SQLite's "database or disk is full" (or
// the system's ENOSPC): an outage that ends when space is freed, not a
// fault of the data being written.
func IsFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}
