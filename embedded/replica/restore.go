package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// RestoreOptions says what to restore and where.
type RestoreOptions struct {
	Target     Target
	OutputPath string    // file to write; refused if it exists unless Force
	Timestamp  time.Time // zero = latest; else the state as of that time
	Force      bool      // replace an existing OutputPath (and its -wal/-shm)
	Logger     *slog.Logger
}

// sidecarSuffixes are the files SQLite keeps beside a database.
var sidecarSuffixes = []string{"-wal", "-shm", "-journal"}

// Restore brings the database back from the replica into OutputPath: the
// latest state, or the state as of Timestamp. A transaction counts from the
// moment Litestream shipped it (within SyncInterval of its commit); the last
// few minutes resolve to single transactions, older history to the
// compaction windows (30s, 5m, 1h) and the window ends at Retention. The file
// is built beside OutputPath, checked with PRAGMA integrity_check, then
// renamed over it, so OutputPath is never half written. With Force an
// existing file is replaced and its stale -wal/-shm files removed; stop
// everything using the old file first. Litestream's local state directory
// for OutputPath (".data.db-litestream") is removed too, since it described
// the old file.
//
// If the point asked for does not restore (applying the replica's LTX files
// fails, the result fails integrity_check, or a file is missing from the
// chain), nothing is written at OutputPath: Restore searches the replica
// for the newest earlier point that restores and passes, and returns a
// *BrokenError (errors.Is ErrBroken) naming it and the Timestamp that
// restores exactly it.
func Restore(ctx context.Context, opt RestoreOptions) error {
	if err := checkEnv(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if opt.OutputPath == "" {
		return errors.New("restore: output path required")
	}
	out, err := filepath.Abs(opt.OutputPath)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With(logKeyOutput, out, logKeyReplica, opt.Target.String())

	if err := checkOutput(out, opt.Force); err != nil {
		return err
	}
	client, err := opt.Target.client()
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	client.SetLogger(logger)
	if err := client.Init(ctx); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	rep := litestream.NewReplicaWithClient(nil, client)

	// Plan first, so an empty replica or a time before the first backup is
	// a clear error and no file is written. One listing serves the plan and
	// any search below; a restore by time needs the files' own timestamps.
	cat, err := listCatalog(ctx, client, !opt.Timestamp.IsZero())
	if err != nil {
		return fmt.Errorf("restore: list replica: %w", err)
	}
	res, err := cat.resolve(ctx, opt.Timestamp, logger)
	if errors.Is(err, litestream.ErrTxNotAvailable) {
		return explainNoPlan(ctx, rep, opt)
	} else if err != nil {
		return fmt.Errorf("restore: plan: %w", err)
	}

	dir, base := filepath.Dir(out), filepath.Base(out)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	b := builder{rep: rep, dir: dir, base: base}
	if res.broken != nil {
		return diagnose(ctx, b, cat, opt.Timestamp, res.asked, res.broken, logger)
	}
	last := res.plan[len(res.plan)-1]

	start := time.Now()
	tmp, err := b.build(ctx, last.MaxTXID) // exactly the state planned above
	if err != nil {
		if localFailure(ctx, err) {
			return fmt.Errorf("restore: %w", err)
		}
		return diagnose(ctx, b, cat, opt.Timestamp, last.MaxTXID, err, logger)
	}
	defer removeAll(tmp)

	// Stale sidecars first: a -wal left beside the new file would be
	// replayed into it by the next connection.
	for _, s := range sidecarSuffixes {
		if err := os.Remove(out + s); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("restore: remove stale %s: %w", s, err)
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	metaDir := filepath.Join(dir, "."+base+litestream.MetaDirSuffix)
	if err := os.RemoveAll(metaDir); err != nil {
		return fmt.Errorf("restore: remove stale litestream state: %w", err)
	}

	logger.InfoContext(ctx, "database restored",
		logKeyTXID, last.MaxTXID.String(),
		logKeyAt, last.CreatedAt,
		logKeyFiles, len(res.plan),
		logKeyDuration, time.Since(start))
	return nil
}

// builder restores points of one replica into temporary files beside the
// output.
type builder struct {
	rep       *litestream.Replica
	dir, base string
}

// build restores the state as of txid into a new temporary file and checks
// it with PRAGMA integrity_check; the caller renames or removes the file.
// Nothing is left behind on error.
func (b builder) build(ctx context.Context, txid ltx.TXID) (string, error) {
	tmp, err := reserveTemp(b.dir, b.base)
	if err != nil {
		return "", err
	}
	ropt := litestream.NewRestoreOptions()
	ropt.OutputPath = tmp
	ropt.TXID = txid
	ropt.IntegrityCheck = litestream.IntegrityCheckFull
	if err := b.rep.Restore(ctx, ropt); err != nil {
		removeAll(tmp)
		return "", err
	}
	removeSidecars(tmp)
	return tmp, nil
}

// checkOutput refuses an existing output (or a sidecar of one) unless force.
func checkOutput(out string, force bool) error {
	fi, err := os.Stat(out)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("restore: %s is a directory", out)
	case err == nil && !force:
		return fmt.Errorf("restore %s: %w", out, ErrExists)
	case err != nil && !os.IsNotExist(err):
		return fmt.Errorf("restore: %w", err)
	}
	if force {
		return nil
	}
	for _, s := range sidecarSuffixes {
		if _, err := os.Stat(out + s); err == nil {
			return fmt.Errorf("restore %s: %w (its %s file)", out, ErrExists, s)
		}
	}
	return nil
}

// explainNoPlan turns Litestream's ErrTxNotAvailable into ErrNoBackup or ErrTooEarly.
func explainNoPlan(ctx context.Context, rep *litestream.Replica, opt RestoreOptions) error {
	first, latest, err := rep.TimeBounds(ctx)
	if err != nil {
		return fmt.Errorf("restore: list replica: %w", err)
	}
	if first.IsZero() && latest.IsZero() {
		return fmt.Errorf("restore from %s: %w", opt.Target, ErrNoBackup)
	}
	if !opt.Timestamp.IsZero() {
		return fmt.Errorf("restore as of %s: the replica's history starts at %s: %w",
			opt.Timestamp.UTC().Format(time.RFC3339Nano), first.UTC().Format(time.RFC3339Nano), ErrTooEarly)
	}
	return fmt.Errorf("restore from %s: %w", opt.Target, litestream.ErrTxNotAvailable)
}

// reserveTemp returns an unused path beside the output for the restore to
// build. Litestream refuses to restore onto an existing file, so the name is
// reserved and released at once.
func reserveTemp(dir, base string) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".restore-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	_ = f.Close()
	if err := os.Remove(name); err != nil {
		return "", err
	}
	return name, nil
}

// removeAll removes a temporary database, its sidecars and Litestream's own temp file.
func removeAll(path string) {
	_ = os.Remove(path)
	_ = os.Remove(path + ".tmp")
	removeSidecars(path)
}

func removeSidecars(path string) {
	for _, s := range sidecarSuffixes {
		_ = os.Remove(path + s)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
