package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/analytics"
	"site/app/backup"
	"site/app/config"
	"site/app/cron"
	"site/app/jobs"
	"site/app/live"
	"site/app/store"
	"site/app/web"
	"site/embedded/natsd"
	"site/embedded/replica"
)

// shutdownTimeout bounds a graceful stop: HTTP drained, jobs in hand
// finished, final Litestream sync, NATS last.
const shutdownTimeout = 10 * time.Second

// Main is the serve command: it parses flags, starts the chosen roles in
// order, waits for a signal and stops them in reverse.
type Main struct {
	// Config is set by ParseFlags.
	Config *config.Config
	// Logger is built from Config by Run.
	Logger *slog.Logger

	stdout, stderr io.Writer

	natsd *natsd.Server
	nc    *nats.Conn
	js    jetstream.JetStream
	store *objectStore
	data  *store.DB
	ttl   *store.DB
	// setupLink makes its user the first admin; set while there is none.
	setupLink string
	replica   *replica.Replicator
	check     *backup.ReplicaCheck
	cron      *cron.Scheduler
	alertPub  *jobs.Publisher
	pub       *jobs.Publisher
	views     *analytics.Batcher
	hub       *live.Hub
	web       *web.Server
	ops       *http.Server
	opsAddr   string
	stopWork  context.CancelFunc
	workDone  sync.WaitGroup

	// stopStatus ends the dashboard's status sampler (role_web.go).
	stopStatus func()

	// background work (replica checks, the WAL watch) stops at Close.
	backgroundCtx  context.Context
	stopBackground context.CancelFunc
	background     sync.WaitGroup
}

// NewMain returns a Main that prints to stdout and logs to stderr.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{stdout: stdout, stderr: stderr, Logger: slog.New(slog.NewTextHandler(stderr, nil))}
}

// ParseFlags loads the configuration from flags and site.hcl.
func (m *Main) ParseFlags(args []string) error {
	cfg, err := config.Load("serve", args, nil)
	if err != nil {
		return err
	}
	m.Config = cfg
	return nil
}

// Run starts the roles, prints where each listens, and blocks until ctx
// ends; then it stops everything within shutdownTimeout.
func (m *Main) Run(ctx context.Context) error {
	m.Logger = newLogger(m.Config, m.stderr)
	if err := m.Open(ctx); err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if cerr := m.Close(cctx); cerr != nil {
			m.Logger.Error("stop after failed start", "err", cerr)
		}
		return err
	}
	m.printSummary()
	<-ctx.Done()
	m.Logger.Info("stopping", "within", shutdownTimeout)
	cctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	start := time.Now()
	err := m.Close(cctx)
	m.Logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return err
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Open starts the roles in order: objects, nats, the databases, cron
// (Litestream), worker, web, the ops listener, cron's scheduler.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := applyCABundle(cfg, m.Logger); err != nil {
		return err
	}
	if err := fillSecrets(cfg); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if err := m.openObjects(ctx); err != nil {
		return err
	}
	if err := m.openNATS(ctx); err != nil {
		return err
	}
	if err := m.openStores(ctx); err != nil {
		return err
	}
	if cfg.Has(config.RoleCron) {
		if err := m.openReplica(ctx); err != nil {
			return err
		}
	}
	if cfg.Has(config.RoleWorker) {
		if err := m.openWorker(); err != nil {
			return err
		}
	}
	if cfg.Has(config.RoleWeb) {
		if err := m.openWeb(); err != nil {
			return err
		}
	}
	if cfg.Ops.Listen != "" {
		if err := m.openOps(); err != nil {
			return err
		}
	}
	if cfg.Has(config.RoleCron) {
		if err := m.openCron(ctx); err != nil {
			return err
		}
	}
	if m.data != nil {
		var alert func(context.Context, string)
		if !cfg.Has(config.RoleCron) {
			alert = m.newAlerter(m.Logger).Raise
		}
		m.startBackground(func(ctx context.Context) { m.watchWAL(ctx, alert) })
		disk := m.newAlerter(m.Logger)
		disk.Source = "disk"
		m.startBackground(func(ctx context.Context) { m.watchDisk(ctx, disk.Raise) })
	}
	return nil
}

// openStores opens data.db (web, worker, cron) and ttl.db (web, cron),
// applying their migrations.
func (m *Main) openStores(ctx context.Context) error {
	cfg := m.Config
	if cfg.Has(config.RoleWeb) || cfg.Has(config.RoleWorker) || cfg.Has(config.RoleCron) {
		db, err := store.OpenData(ctx, filepath.Join(cfg.DataDir, store.DataFile))
		if err != nil {
			return err
		}
		m.data = db
	}
	if cfg.Has(config.RoleWeb) || cfg.Has(config.RoleCron) {
		db, err := store.OpenTTL(ctx, filepath.Join(cfg.DataDir, store.TTLFile))
		if err != nil {
			return err
		}
		m.ttl = db
	}
	return nil
}

// closeStores closes ttl.db, then data.db: the app's connections close
// before Litestream's final sync.
func (m *Main) closeStores() error {
	var errs []error
	if m.ttl != nil {
		errs = append(errs, m.ttl.Close())
	}
	if m.data != nil {
		errs = append(errs, m.data.Close())
	}
	return errors.Join(errs...)
}

// Close stops what Open started, in reverse: HTTP drained, buffered page
// views published, jobs in hand finished, databases closed, final
// Litestream sync, the object server, and NATS last.
func (m *Main) Close(ctx context.Context) error {
	if m.stopBackground != nil {
		m.stopBackground()
		m.background.Wait()
	}
	m.closeCron()
	if m.alertPub != nil {
		_, _ = m.alertPub.Close(ctx)
	}
	errs := []error{m.closeWeb(ctx), m.closeOps(ctx), m.closeWorker(ctx), m.closeStores()}
	errs = append(errs, m.closeReplica(ctx), m.closeObjects(), m.closeNATS())
	return errors.Join(errs...)
}
