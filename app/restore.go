package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"site/app/backup"
	"site/app/config"
	"site/app/store"
	"site/embedded/replica"
)

// restoreCommand brings data.db back from the Litestream replica on the
// object store findObjects finds: objects.endpoint, a site serving
// objects.listen here, or the embedded server on a loopback port for the
// length of the restore.
func restoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var at, from string
	var force bool
	cfg, err := config.Load("restore", args, func(fs *flag.FlagSet) {
		fs.StringVar(&at, "at", "", "restore the state as of this time")
		fs.BoolVar(&force, "force", false, "replace an existing data.db")
		fs.StringVar(&from, "from", "backup", "backup, or offsite/TIER")
	})
	if err != nil {
		return err
	}
	tier, offsite := strings.CutPrefix(from, "offsite/")
	if from != "backup" && (!offsite || backup.CheckTier(tier) != nil) {
		return &config.Error{Where: "flag --from", Msg: fmt.Sprintf("%q is not backup, offsite/daily, offsite/1-week or offsite/2-week", from)}
	}
	when, err := parseTime(at, time.Now())
	if err != nil {
		return &config.Error{Where: "flag --at", Msg: err.Error()}
	}
	logger := newLogger(cfg, stderr)
	if err := applyCABundle(cfg, logger); err != nil {
		return err
	}
	if offsite {
		return restoreOffsite(ctx, cfg, tier, when, force, stdout, logger)
	}
	out := filepath.Join(cfg.DataDir, store.DataFile)
	if _, err := os.Stat(out); err == nil && !force {
		return fmt.Errorf("%s exists; stop the site and add --force to replace it", out)
	}
	objs, err := restoreObjects(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer objs.Close()
	target := replicaTarget(cfg, objs.Endpoint)
	desc := "the latest state"
	if !when.IsZero() {
		desc = "the state as of " + when.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "restoring %s from s3://%s/%s at %s (%s)\n", out, target.Bucket, target.Path, objs.Endpoint, desc)
	start := time.Now()
	err = replica.Restore(ctx, replica.RestoreOptions{Target: target, OutputPath: out, Timestamp: when, Force: force, Logger: logger})
	if errors.Is(err, replica.ErrExists) {
		return fmt.Errorf("%s exists; stop the site and add --force to replace it", out)
	}
	var broken *replica.BrokenError
	if errors.As(err, &broken) {
		return brokenReplicaError(broken, out, args)
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s in %s\n", out, time.Since(start).Round(time.Millisecond))
	return nil
}

// brokenReplicaError explains a replica that cannot give the point asked
// for: nothing was written, and the command line that restores the newest
// point that passes, if there is one.
func brokenReplicaError(broken *replica.BrokenError, out string, args []string) error {
	msg := fmt.Sprintf("restore: %v\nnothing was written to %s", broken, out)
	if broken.Good.TXID == 0 {
		return errors.New(msg)
	}
	at := broken.At.UTC().Format(time.RFC3339Nano)
	cmd := append([]string{"site", "restore", "--at", at}, withoutFlag(args, "at")...)
	for i, a := range cmd {
		cmd[i] = shellQuote(a)
	}
	return fmt.Errorf("%s; to restore that point instead, run:\n  %s", msg, strings.Join(cmd, " "))
}

// withoutFlag returns args without the string flag name and its value, in
// any of the forms the flag package accepts (-name v, --name v, --name=v).
func withoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		bare := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		switch {
		case bare == a: // not a flag
		case bare == name:
			i++ // and its value
			continue
		case strings.HasPrefix(bare, name+"="):
			continue
		}
		out = append(out, a)
	}
	return out
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// restoreObjects readies the data dir for a restore (created, with its
// secrets) and finds or starts the object store to restore from and into
// (findObjects); Close stops a server it started.
func restoreObjects(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*objectStore, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := fillSecrets(cfg); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return findObjects(ctx, cfg, false, 0, logger)
}

// parseTime reads --at: RFC 3339, "2006-01-02 15:04:05" (UTC), or a
// duration before now such as "15m". Empty is the zero time (latest).
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			if t.After(now) {
				return time.Time{}, fmt.Errorf("%q is in the future", s)
			}
			return t, nil
		}
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339 such as 2026-11-27T10:00:00Z, \"2026-11-27 10:00:00\" in UTC, or a duration ago such as 15m)", s)
}
