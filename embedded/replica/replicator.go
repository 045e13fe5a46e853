package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
)

// DefaultSyncInterval is how often changes are shipped when SyncInterval is zero.
const DefaultSyncInterval = time.Second

// DefaultRetention is how far back point-in-time restore reaches when
// Retention is zero; it is also the default snapshot interval.
const DefaultRetention = 24 * time.Hour

// Replicator replicates one database file continuously to a Target with
// Litestream. Set the fields, then Open; the application's own connections
// must use modernc.org/sqlite, and must be closed before Close.
type Replicator struct {
	DBPath       string        // absolute path of data.db (must exist before Open)
	Target       Target        // where the replica lives
	SyncInterval time.Duration // how often committed WAL frames are shipped; default 1s
	Logger       *slog.Logger  // default slog.Default()

	// Retention is how long replicated history (snapshots and the LTX files
	// after them) is kept, so the window for point-in-time restore; default 24h.
	Retention time.Duration
	// SnapshotInterval is how often a full snapshot is written to the
	// replica; default 24h (never more than Retention).
	SnapshotInterval time.Duration

	mu       sync.Mutex
	state    int // stateNew, stateOpen, stateClosed
	db       *litestream.DB
	store    *litestream.Store
	logger   *slog.Logger
	syncs    sync.WaitGroup // Sync calls in flight
	done     chan struct{}  // closed when the background close has finished
	closeErr error          // result of the background close, valid after done
}

const (
	stateNew = iota
	stateOpen
	stateClosed
)

// Open starts continuous replication and returns once the database's
// current state is stored in the replica, so a bad target fails here.
func (r *Replicator) Open(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case stateOpen:
		return errors.New("open replicator: already open")
	case stateClosed:
		return fmt.Errorf("open replicator: %w", ErrClosed)
	}
	if err := checkEnv(); err != nil {
		return fmt.Errorf("open replicator: %w", err)
	}
	if !filepath.IsAbs(r.DBPath) {
		return fmt.Errorf("open replicator: db path %q is not absolute", r.DBPath)
	}
	fi, err := os.Stat(r.DBPath)
	if err != nil {
		return fmt.Errorf("open replicator: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("open replicator: %s is not a regular file", r.DBPath)
	}
	client, err := r.Target.client()
	if err != nil {
		return fmt.Errorf("open replicator: %w", err)
	}

	logger := r.Logger
	if logger == nil {
		logger = slog.Default()
	}
	interval := r.SyncInterval
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	retention := r.Retention
	if retention <= 0 {
		retention = DefaultRetention
	}
	snapshotInterval := r.SnapshotInterval
	if snapshotInterval <= 0 {
		snapshotInterval = DefaultRetention
	}
	snapshotInterval = min(snapshotInterval, retention)

	db := litestream.NewDB(r.DBPath)
	db.MonitorInterval = interval // WAL -> local LTX files
	rep := litestream.NewReplicaWithClient(db, client)
	rep.SyncInterval = interval // local LTX files -> S3
	db.Replica = rep

	levels := make(litestream.CompactionLevels, len(litestream.DefaultCompactionLevels))
	for i, lvl := range litestream.DefaultCompactionLevels {
		levels[i] = &litestream.CompactionLevel{Level: lvl.Level, Interval: lvl.Interval}
	}
	store := litestream.NewStore([]*litestream.DB{db}, levels)
	store.Logger = logger.With(litestream.LogKeySystem, litestream.LogSystemStore)
	store.SnapshotInterval = snapshotInterval
	store.SnapshotRetention = retention
	db.SetLogger(logger.With(logKeyDB, filepath.Base(r.DBPath), logKeyReplica, r.Target.String()))

	// A WAL that no longer continues the replica is checkpointed away
	// first, so the first sync below is a full snapshot, not an increment
	// on a chain that no longer matches the database.
	moved, err := walMoved(db)
	if err != nil {
		return fmt.Errorf("open replicator: %w", err)
	}
	if moved != "" {
		level := slog.LevelWarn
		if moved == noLocalState {
			level = slog.LevelInfo
		}
		logger.Log(ctx, level, "replication resumes from a full snapshot", logKeyDB, r.DBPath, logKeyReason, moved)
		if err := truncateWAL(ctx, r.DBPath); err != nil {
			return fmt.Errorf("open replicator: %s: %w", moved, err)
		}
	}

	if err := store.Open(ctx); err != nil {
		closeQuietly(store)
		return fmt.Errorf("open replicator: %w", err)
	}
	// First sync: the current state reaches the replica before Open returns.
	if err := db.SyncAndWait(ctx); err != nil {
		closeQuietly(store)
		return fmt.Errorf("open replicator: first sync to %s: %w", r.Target, err)
	}
	r.db, r.store, r.state = db, store, stateOpen
	r.logger = logger
	logger.InfoContext(ctx, "replication started", logKeyDB, r.DBPath, logKeyReplica, r.Target.String(), logKeyInterval, interval)
	return nil
}

// closeQuietly releases a store whose Open failed; there is nothing to sync.
func closeQuietly(store *litestream.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = store.Close(ctx)
}

// Sync ships all committed WAL frames to the replica now and returns when
// they are stored remotely.
func (r *Replicator) Sync(ctx context.Context) error {
	db, done, err := r.acquire()
	if err != nil {
		return fmt.Errorf("sync replica: %w", err)
	}
	defer done()
	if err := db.SyncAndWait(ctx); err != nil {
		return fmt.Errorf("sync replica: %w", err)
	}
	return nil
}

// acquire returns the open Litestream DB, counted as in use until done is
// called, so that Close waits for it; ErrNotOpen or ErrClosed otherwise.
func (r *Replicator) acquire() (db *litestream.DB, done func(), err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case stateNew:
		return nil, nil, ErrNotOpen
	case stateClosed:
		return nil, nil, ErrClosed
	}
	r.syncs.Add(1)
	return r.db, r.syncs.Done, nil
}

// Position is where replication stands: the last transaction written
// locally (an LTX file Litestream made from the WAL), the last one the
// replica holds, and when a sync last succeeded.
type Position struct {
	LocalTXID, ReplicaTXID uint64
	LastSync               time.Time
}

// Lag is how many transactions the replica is behind the database.
func (p Position) Lag() uint64 {
	if p.LocalTXID <= p.ReplicaTXID {
		return 0
	}
	return p.LocalTXID - p.ReplicaTXID
}

// Position reports where replication stands now.
func (r *Replicator) Position() (Position, error) {
	db, done, err := r.acquire()
	if err != nil {
		return Position{}, err
	}
	defer done()
	local, err := db.Pos()
	if err != nil {
		return Position{}, fmt.Errorf("replica: position: %w", err)
	}
	p := Position{LocalTXID: uint64(local.TXID), LastSync: db.LastSuccessfulSyncAt()}
	if db.Replica != nil {
		p.ReplicaTXID = uint64(db.Replica.Pos().TXID)
	}
	return p, nil
}

// Snapshot writes a full snapshot of the database as it is now to the
// replica, so restores of this point and later start from it and no longer
// depend on the LTX files before it (a repair for a replica found broken).
func (r *Replicator) Snapshot(ctx context.Context) error {
	db, done, err := r.acquire()
	if err != nil {
		return fmt.Errorf("snapshot replica: %w", err)
	}
	defer done()
	if err := db.SyncAndWait(ctx); err != nil {
		return fmt.Errorf("snapshot replica: %w", err)
	}
	info, err := db.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("snapshot replica: %w", err)
	}
	r.logger.InfoContext(ctx, "snapshot written", logKeyDB, r.DBPath, logKeyTXID, info.MaxTXID.String())
	return nil
}

// Close does a final sync of everything committed, then stops replication.
// Close the application's connections to the database first. Close returns
// when ctx ends even if the final sync has not finished (Litestream also
// gives up retrying after 30s); the error says so, and the release of
// Litestream's resources then completes in the background. Calling Close
// again waits for that release.
func (r *Replicator) Close(ctx context.Context) error {
	r.mu.Lock()
	switch r.state {
	case stateNew:
		r.state = stateClosed
		r.mu.Unlock()
		return nil
	case stateOpen:
		r.state = stateClosed
		r.done = make(chan struct{})
		store, done, logger := r.store, r.done, r.logger
		go func() {
			defer close(done)
			r.syncs.Wait()
			// db.Close: WAL -> LTX, upload with retries bounded by ctx and
			// ShutdownSyncTimeout, release the read lock, close its handles.
			r.closeErr = store.Close(ctx)
			if r.closeErr != nil {
				logger.Error("replication stopped; final sync failed", logKeyDB, r.DBPath, logKeyError, r.closeErr)
			} else {
				logger.Info("replication stopped", logKeyDB, r.DBPath)
			}
		}()
	}
	done := r.done
	r.mu.Unlock()

	if done == nil { // closed before it was ever opened
		return nil
	}
	select {
	case <-done:
		if r.closeErr != nil {
			return fmt.Errorf("close replicator: final sync: %w", r.closeErr)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close replicator: final sync not confirmed: %w", context.Cause(ctx))
	}
}
