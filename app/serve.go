package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/analytics"
	"site/app/backup"
	"site/app/config"
	"site/app/content"
	"site/app/cron"
	"site/app/jobs"
	"site/app/metrics"
	"site/app/store"
	"site/app/web"
	"site/embedded/natsd"
	"site/embedded/objects"
	"site/embedded/replica"
)

// shutdownTimeout bounds a graceful stop: HTTP drained, jobs in hand
// finished, final Litestream sync, NATS last.
const shutdownTimeout = 10 * time.Second

// fetchJobs is how many jobs the worker fetches at once: up to 64 batches
// of page views (32,000 views at most, a fraction of a second's work),
// stored in transactions of worker.batch_size views, well within the
// stream's AckWait.
const fetchJobs = 64

// Main is the serve command: it parses flags, starts the chosen roles in
// order, waits for a signal and stops them in reverse.
type Main struct {
	// Config is set by ParseFlags.
	Config *config.Config
	// Logger is built from Config by Run.
	Logger *slog.Logger

	stdout, stderr io.Writer

	objects  *objects.Server
	natsd    *natsd.Server
	nc       *nats.Conn
	js       jetstream.JetStream
	s3       *minio.Client
	data     *store.DB
	ttl      *store.DB
	replica  *replica.Replicator
	check    *backup.ReplicaCheck
	cron     *cron.Scheduler
	alertPub *jobs.Publisher
	pub      *jobs.Publisher
	views    *analytics.Batcher
	web      *web.Server
	ops      *http.Server
	opsAddr  string
	stopWork context.CancelFunc
	workDone sync.WaitGroup
	endpoint string

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
// (Litestream), worker, web.
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
	} else if cfg.Ops.Listen != "" {
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
	}
	return nil
}

func (m *Main) openObjects(ctx context.Context) error {
	cfg := m.Config
	m.endpoint = cfg.Objects.Endpoint
	if cfg.Has(config.RoleObjects) {
		srv := objects.NewServer()
		srv.Root = filepath.Join(cfg.DataDir, "objects")
		srv.Listen = cfg.Objects.Listen
		srv.AccessKey, srv.SecretKey = cfg.Objects.AccessKey, cfg.Objects.SecretKey
		srv.Region = cfg.Objects.Region
		srv.Buckets = []string{config.BucketPublic, config.BucketPrivate, config.BucketBackup}
		srv.PublicBuckets = []string{config.BucketPublic}
		srv.Logger = m.Logger.With("role", config.RoleObjects)
		if err := srv.Open(ctx); err != nil {
			return fmt.Errorf("objects: %w", err)
		}
		m.objects = srv
		if m.endpoint == "" {
			m.endpoint = srv.Endpoint()
		}
	}
	if !(cfg.Has(config.RoleWeb) || cfg.Has(config.RoleWorker) || cfg.Has(config.RoleCron)) {
		return nil
	}
	client, err := objects.NewClient(m.endpoint, cfg.Objects.AccessKey, cfg.Objects.SecretKey, cfg.Objects.Region)
	if err != nil {
		return fmt.Errorf("objects client: %w", err)
	}
	m.s3 = client
	return nil
}

func (m *Main) openNATS(ctx context.Context) error {
	cfg := m.Config
	if cfg.Has(config.RoleNATS) {
		srv := natsd.NewServer()
		srv.StoreDir = filepath.Join(cfg.DataDir, "nats")
		srv.Listen = cfg.NATS.Listen
		srv.Token = cfg.NATS.Token
		srv.Logger = m.Logger.With("role", config.RoleNATS)
		if err := srv.Open(); err != nil {
			return fmt.Errorf("nats: %w", err)
		}
		m.natsd = srv
	}
	// web and worker need NATS; cron uses it when it can reach it, to raise
	// alerts of failed backups as jobs.alert (else it only logs them).
	cronAlerts := cfg.Has(config.RoleCron) && (m.natsd != nil || cfg.NATS.URL != "")
	if !(cfg.Has(config.RoleWeb) || cfg.Has(config.RoleWorker) || cronAlerts) {
		return nil
	}
	opts := []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				m.Logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { m.Logger.Info("nats reconnected") }),
	}
	var nc *nats.Conn
	var err error
	if m.natsd != nil && cfg.NATS.URL == "" {
		nc, err = m.natsd.Connect(opts...)
	} else {
		opts = append(opts, nats.Token(cfg.NATS.Token), nats.Name("site-"+strings.Join(cfg.Roles, "-")),
			nats.RetryOnFailedConnect(true))
		nc, err = nats.Connect(cfg.NATS.URL, opts...)
	}
	if err != nil {
		return fmt.Errorf("nats: connect: %w", err)
	}
	m.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	m.js = js
	// Streams are created or updated by every process that uses them, so
	// the order processes start in does not matter.
	deadline := time.Now().Add(30 * time.Second)
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := jobs.EnsureStreams(actx, js)
		cancel()
		if err == nil {
			return nil
		}
		if last := nc.LastError(); last != nil {
			err = fmt.Errorf("%w (last connection error: %v)", err, last)
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("nats at %s: %w", natsWhere(cfg), err)
		}
		m.Logger.Info("waiting for NATS", "url", natsWhere(cfg), "err", err)
		time.Sleep(500 * time.Millisecond)
	}
}

// natsWhere names the NATS server this process uses, for messages.
func natsWhere(cfg *config.Config) string {
	if cfg.NATS.URL != "" {
		return cfg.NATS.URL
	}
	return "in-process"
}

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

// replicaTarget is where Litestream keeps data.db in the backup bucket.
func (m *Main) replicaTarget() replica.Target {
	cfg := m.Config
	return replica.Target{
		Endpoint: m.endpoint, Region: cfg.Objects.Region, Bucket: cfg.Replica.Bucket, Path: cfg.Replica.Path,
		AccessKey: cfg.Objects.AccessKey, SecretKey: cfg.Objects.SecretKey,
	}
}

func (m *Main) openReplica(ctx context.Context) error {
	if err := m.waitForBucket(ctx, m.Config.Replica.Bucket); err != nil {
		return err
	}
	r := &replica.Replicator{
		DBPath:       m.data.Path,
		Target:       m.replicaTarget(),
		SyncInterval: m.Config.Replica.SyncInterval,
		Logger:       m.Logger.With("role", config.RoleCron),
	}
	if err := r.Open(ctx); err != nil {
		return fmt.Errorf("cron: litestream: %w", err)
	}
	m.replica = r
	m.check = m.newReplicaCheck()
	return nil
}

// waitForBucket waits up to 30 s for the object store to answer, so that
// processes started together need no particular order.
func (m *Main) waitForBucket(ctx context.Context, bucket string) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ok, err := m.s3.BucketExists(wctx, bucket)
		if err == nil && ok {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("bucket %q does not exist", bucket)
		}
		if wctx.Err() != nil {
			return fmt.Errorf("objects at %s: %w", m.endpoint, err)
		}
		m.Logger.Info("waiting for the object store", "endpoint", m.endpoint, "err", err)
		time.Sleep(500 * time.Millisecond)
	}
}

func (m *Main) openWorker() error {
	c := jobs.NewConsumer(m.js)
	c.Concurrency = m.Config.Worker.Concurrency
	c.BatchSize = fetchJobs
	c.Logger = m.Logger.With("role", config.RoleWorker)
	rec, background, err := m.workerHandlers(c)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	c.Batch["pageview"] = rec.HandleBatch
	c.OnDone = func(kind, outcome string, took time.Duration) {
		metrics.JobsDone.WithLabelValues(kind, outcome).Inc()
		metrics.JobDuration.WithLabelValues(kind).Observe(took.Seconds())
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stopWork = cancel
	m.workDone.Go(func() {
		var bg sync.WaitGroup
		bctx, stopBg := context.WithCancel(context.Background())
		bg.Go(func() { background(bctx) })
		sweeper := &imageSweeper{db: m.data.Read, js: m.js, logger: c.Logger}
		bg.Go(func() { sweeper.run(bctx) })
		defer bg.Wait()
		defer stopBg()
		if err := c.Run(ctx); err != nil {
			m.Logger.Error("worker stopped", "err", err)
		}
	})
	return nil
}

// checks are what /readyz asks about in this process.
func (m *Main) checks() []web.Check {
	var cs []web.Check
	if m.data != nil {
		cs = append(cs, web.Check{Name: "data.db", Func: m.data.Ping})
	}
	if m.ttl != nil {
		cs = append(cs, web.Check{Name: "ttl.db", Func: m.ttl.Ping})
	}
	if m.check != nil {
		cs = append(cs, web.Check{Name: "replica", Func: m.check.Err})
	}
	if m.nc != nil {
		cs = append(cs, web.Check{Name: "nats", Func: func(context.Context) error {
			if s := m.nc.Status(); s != nats.CONNECTED {
				return fmt.Errorf("connection %s", s)
			}
			return nil
		}})
	}
	if m.s3 != nil {
		cs = append(cs, web.Check{Name: "objects", Func: func(ctx context.Context) error {
			ok, err := m.s3.BucketExists(ctx, config.BucketPublic)
			if err == nil && !ok {
				err = errors.New("bucket public missing")
			}
			return err
		}})
	} else if m.objects != nil {
		cs = append(cs, web.Check{Name: "objects", Func: func(ctx context.Context) error {
			c, err := objects.NewClient(m.objects.Endpoint(), m.Config.Objects.AccessKey, m.Config.Objects.SecretKey, m.Config.Objects.Region)
			if err != nil {
				return err
			}
			_, err = c.BucketExists(ctx, config.BucketPublic)
			return err
		}})
	}
	if m.natsd != nil && m.nc == nil {
		cs = append(cs, web.Check{Name: "nats", Func: func(context.Context) error {
			nc, err := m.natsd.Connect()
			if err != nil {
				return err
			}
			nc.Close()
			return nil
		}})
	}
	return cs
}

func (m *Main) openWeb() error {
	cfg := m.Config
	m.pub = jobs.NewPublisher(m.js)
	m.pub.Logger = m.Logger.With("role", config.RoleWeb)
	m.pub.Buffer = cfg.Analytics.Buffer
	m.pub.OnDrop = func(j jobs.Job) { metrics.JobsDropped.WithLabelValues(j.Kind()).Add(float64(max(1, j.Count))) }
	m.pub.OnPublish = func(j jobs.Job) { metrics.JobsPublished.WithLabelValues(j.Kind()).Add(float64(max(1, j.Count))) }
	m.pub.Open()
	srv := web.NewServer()
	srv.Listen = cfg.Web.Listen
	if cfg.Analytics.Enabled {
		m.views = &analytics.Batcher{Enqueue: m.pub.Enqueue}
		srv.Views = m.views
	}
	srv.Checks = m.checks()
	srv.Logger = m.Logger.With("role", config.RoleWeb)
	srv.SiteName, srv.Description, srv.Author, srv.Language = cfg.Site.Name, cfg.Site.Description, cfg.Site.Author, cfg.Site.Language
	srv.Content = content.NewStore(m.data)
	srv.Content.MediaBase = cfg.Objects.PublicURL
	srv.Objects, srv.PublicBucket = m.s3, config.BucketPublic
	srv.SecurityTxt = cfg.Web.SecurityTxt
	if err := srv.Bind(); err != nil {
		return err
	}
	// Set before Open, while no request can read it; derived from the port
	// Bind took when base_url is not set.
	srv.BaseURL = cfg.SiteURL(srv.Addr())
	if err := srv.Open(); err != nil {
		return err
	}
	m.web = srv
	return nil
}

func (m *Main) openOps() error {
	ln, err := net.Listen("tcp", m.Config.Ops.Listen)
	if err != nil {
		return fmt.Errorf("ops: listen %s: %w", m.Config.Ops.Listen, err)
	}
	m.opsAddr = ln.Addr().String()
	m.ops = &http.Server{Handler: (&web.Ops{Checks: m.checks()}).Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := m.ops.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("ops: serve", "err", err)
		}
	}()
	return nil
}

// Close stops what Open started, in reverse: HTTP drained, buffered page
// views published, jobs in hand finished, databases closed, final
// Litestream sync, the object server, and NATS last.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.stopBackground != nil {
		m.stopBackground()
		m.background.Wait()
	}
	if m.cron != nil {
		m.cron.Close() // a run in progress is recorded as interrupted and runs again at the next start
	}
	if m.alertPub != nil {
		_, _ = m.alertPub.Close(ctx)
	}
	if m.web != nil {
		errs = append(errs, m.web.Close(ctx))
	}
	if m.ops != nil {
		errs = append(errs, m.ops.Shutdown(ctx))
	}
	if m.views != nil {
		m.views.Close() // the last batch joins the publisher's buffer
	}
	if m.pub != nil {
		if left, err := m.pub.Close(ctx); err != nil {
			m.Logger.Warn("page views not published before shutdown", "count", left)
		}
	}
	if m.stopWork != nil {
		m.stopWork()
		done := make(chan struct{})
		go func() { m.workDone.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			// Jobs still in hand are not acknowledged and come back to a
			// worker after jobs.AckWait; their ids keep them from counting twice.
			errs = append(errs, fmt.Errorf("worker: jobs still running at the shutdown deadline: %w", ctx.Err()))
		}
	}
	if m.ttl != nil {
		errs = append(errs, m.ttl.Close())
	}
	if m.data != nil {
		errs = append(errs, m.data.Close())
	}
	if m.replica != nil {
		if err := m.replica.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("final litestream sync: %w", err))
		}
	}
	if m.objects != nil {
		errs = append(errs, m.objects.Close())
	}
	if m.nc != nil {
		m.nc.Close()
	}
	if m.natsd != nil {
		errs = append(errs, m.natsd.Close())
	}
	return errors.Join(errs...)
}
