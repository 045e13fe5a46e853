package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"site/app/backup"
	"site/app/config"
	"site/app/cron"
	"site/app/store"
)

// offsiteFor returns the offsite client of cfg reading the buckets at
// endpoint, or nil and the reason offsite backups are off.
func offsiteFor(ctx context.Context, cfg *config.Config, endpoint string, logger *slog.Logger) (*backup.Offsite, string, error) {
	o := cfg.Offsite
	if o.Bucket == "" {
		return nil, "offsite backups are off: offsite.bucket is not set in site.hcl", nil
	}
	off := &backup.Offsite{
		Source: backup.Endpoint{URL: endpoint, Region: cfg.Objects.Region, AccessKey: cfg.Objects.AccessKey, SecretKey: cfg.Objects.SecretKey},
		Target: backup.Endpoint{URL: o.Endpoint, Region: o.Region, AccessKey: o.AccessKey, SecretKey: o.SecretKey},
		Bucket: o.Bucket, Prefix: o.Prefix,
		Buckets:       []string{config.BucketPublic, config.BucketPrivate, config.BucketBackup},
		ReplicaBucket: cfg.Replica.Bucket, ReplicaPath: cfg.Replica.Path,
		Logger: logger,
	}
	if err := off.Open(ctx); err != nil {
		return nil, "", err
	}
	return off, "", nil
}

// scratchDir is where verify restores tiers.
func scratchDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "tmp", "backup") }

// backupCommand is `site backup run daily|weekly|biweekly`, `site backup
// verify TIER` and `site backup status`.
func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const want = "backup: want run daily|weekly|biweekly, verify daily|1-week|2-week, or status"
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(want)
	}
	sub, what, rest := args[0], "", args[1:]
	switch sub {
	case "run", "verify":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return errors.New(want)
		}
		what, rest = rest[0], rest[1:]
		if sub == "run" && !slices.Contains([]string{config.TaskDaily, config.TaskWeekly, config.TaskBiweekly}, what) {
			return fmt.Errorf("backup run: unknown run %q (daily, weekly or biweekly)", what)
		}
		if sub == "verify" {
			if err := backup.CheckTier(what); err != nil {
				return fmt.Errorf("backup verify: %w", err)
			}
		}
	case "status":
	default:
		return fmt.Errorf("backup: unknown command %q (run, verify, status)", sub)
	}
	cfg, err := config.Load("backup "+sub, rest, nil)
	if err != nil {
		return err
	}
	dbPath := filepath.Join(cfg.DataDir, store.DataFile)
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("no %s: start the site once, or restore it first", dbPath)
	}
	logger := newLogger(cfg, stderr)
	if err := applyCABundle(cfg, logger); err != nil {
		return err
	}
	if err := fillSecrets(cfg); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	data, err := store.OpenData(ctx, dbPath)
	if err != nil {
		return err
	}
	defer data.Close()
	if sub == "status" {
		return backupStatus(ctx, cfg, data, stdout)
	}
	objs, err := findObjects(ctx, cfg, false, 0, logger)
	if err != nil {
		return err
	}
	defer objs.Close()
	endpoint := objs.Endpoint
	off, why, err := offsiteFor(ctx, cfg, endpoint, logger)
	if err != nil {
		return err
	}
	if off == nil {
		return errors.New(why)
	}
	if err := off.Check(ctx); err != nil {
		return err
	}
	alerter := &backup.Alerter{Logger: logger}
	if sub == "verify" {
		if err := os.MkdirAll(scratchDir(cfg), 0o750); err != nil {
			return err
		}
		res, err := off.Verify(ctx, what, scratchDir(cfg))
		if rerr := backup.RecordVerify(ctx, data.Write, res); rerr != nil {
			logger.Error("record verify", "err", rerr)
		}
		if err != nil {
			alerter.Raise(ctx, err.Error())
			return err
		}
		fmt.Fprintf(stdout, "verify %s: ok: %s\n", what, res.Message)
		return nil
	}
	tasks, err := cron.Table(cfg.Cron, cron.Deps{Data: data.Write, Offsite: off, ScratchDir: scratchDir(cfg)})
	if err != nil {
		return err
	}
	s := &cron.Scheduler{DB: data.Write, Tasks: tasks, Logger: logger,
		OnFailure: func(ctx context.Context, task string, err error) { alerter.Raise(ctx, task+": "+err.Error()) }}
	if err := s.Open(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup %s: %s -> s3://%s/%s\n", what, endpoint, off.Bucket, off.TierPrefix(tierOf(what)))
	res, err := s.RunNow(ctx, what)
	if err != nil {
		return fmt.Errorf("backup %s: %w", what, err)
	}
	fmt.Fprintf(stdout, "backup %s: %s: %s (run %d)\n", what, res.Status, res.Message, res.ID)
	return nil
}

// tierOf is the tier a run writes.
func tierOf(task string) string {
	switch task {
	case config.TaskWeekly:
		return backup.TierWeekly
	case config.TaskBiweekly:
		return backup.TierBiweekly
	}
	return backup.TierDaily
}

// backupStatus prints the offsite target, each task's last run and next
// slot, and the last verify of each tier.
func backupStatus(ctx context.Context, cfg *config.Config, data *store.DB, w io.Writer) error {
	if cfg.Offsite.Bucket == "" {
		fmt.Fprintln(w, "offsite: off (offsite.bucket is not set in site.hcl); offsite runs are recorded as skipped")
	} else {
		where := cfg.Offsite.Endpoint
		if where == "" {
			where = "AWS S3 " + cfg.Offsite.Region
		}
		fmt.Fprintf(w, "offsite: s3://%s/%s at %s\n", cfg.Offsite.Bucket, cfg.Offsite.Prefix, where)
	}
	if wal, err := data.WALBytes(); err == nil {
		fmt.Fprintf(w, "replica: s3://%s/%s, checked at every start of cron and every %s; data.db's WAL is %s (Litestream checkpoints it; it grows while cron is away)\n",
			cfg.Replica.Bucket, cfg.Replica.Path, cfg.Replica.CheckInterval, backup.HumanBytes(wal))
	}
	tasks, err := cron.Table(cfg.Cron, cron.Deps{})
	if err != nil {
		return err
	}
	st, err := cron.Status(ctx, data.Read, tasks, time.Now())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTASK\tSCHEDULE (UTC unless cron.timezone)\tNEXT\tLAST RUN\tCOPIED\tRESULT")
	for _, t := range st {
		next := "-"
		if !t.Next.IsZero() {
			next = t.Next.Format("2006-01-02 15:04")
		}
		last, copied, result := "never", "-", "-"
		if r := t.Last; r != nil {
			last = r.Started.UTC().Format("2006-01-02 15:04:05") + " " + r.Trigger
			if !r.Finished.IsZero() {
				last += fmt.Sprintf(" (%s)", r.Finished.Sub(r.Started).Round(time.Millisecond))
			}
			copied = fmt.Sprintf("%d objects, %s", r.Stats.Copied, backup.HumanBytes(r.Stats.Bytes))
			result = r.Status
			if r.Message != "" {
				result += ": " + r.Message
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Schedule, next, last, copied, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	vs, err := backup.LastVerifies(ctx, data.Read)
	if err != nil {
		return err
	}
	fmt.Fprintln(tw, "\nCOPY\tLAST CHECK\tRESULT")
	for _, tier := range append([]string{backup.TierReplica}, backup.Tiers...) {
		v, ok := vs[tier]
		if !ok {
			fmt.Fprintf(tw, "%s\tnever\t-\n", tier)
			continue
		}
		result := "FAILED"
		if v.OK {
			result = "ok"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s: %s\n", tier, v.Started.UTC().Format("2006-01-02 15:04:05"), result, v.Message)
	}
	return tw.Flush()
}
