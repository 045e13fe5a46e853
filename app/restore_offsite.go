package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"site/app/backup"
	"site/app/config"
	"site/app/store"
)

// restoreOffsite is `site restore --from offsite/TIER`: the buckets and
// data.db come back from the offsite tier into the data dir, which must be
// empty (no data.db, empty buckets) unless force. The buckets land in the
// object store findObjects finds: with no objects.endpoint and no site
// serving objects.listen here, the embedded server on a loopback port for
// the length of the restore, in data_dir/objects.
func restoreOffsite(ctx context.Context, cfg *config.Config, tier string, when time.Time, force bool, stdout io.Writer, logger *slog.Logger) error {
	out := filepath.Join(cfg.DataDir, store.DataFile)
	if _, err := os.Stat(out); err == nil && !force {
		return fmt.Errorf("%s exists; stop the site and add --force to replace it", out)
	}
	if cfg.Offsite.Bucket == "" {
		return errors.New("restore --from offsite: offsite.bucket is not set in site.hcl")
	}
	objs, err := restoreObjects(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer objs.Close()
	off, _, err := offsiteFor(ctx, cfg, objs.Endpoint, logger)
	if err != nil {
		return err
	}
	off.Progress = 2 * time.Second
	desc := "the latest state"
	if !when.IsZero() {
		desc = "data.db as of " + when.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "restoring %s from s3://%s/%s (%s) into %s\n", tier, off.Bucket, off.TierPrefix(tier), desc, cfg.DataDir)
	start := time.Now()
	st, err := off.Restore(ctx, backup.RestoreOptions{Tier: tier, DataDB: out, Timestamp: when, Force: force, Out: stdout})
	if errors.Is(err, backup.ErrNotEmpty) {
		return fmt.Errorf("restore: %w", err)
	}
	if err != nil {
		return fmt.Errorf("restore from offsite/%s: %w", tier, err)
	}
	fmt.Fprintf(stdout, "restored %s and %d objects (%s) from offsite/%s in %s\n", out, st.Copied, backup.HumanBytes(st.Bytes), tier, time.Since(start).Round(time.Millisecond))
	return nil
}
