package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"site/app/analytics"
	"site/app/comments"
	"site/app/config"
	"site/app/events"
	"site/app/jobs"
	"site/app/media"
	"site/app/metrics"
	"site/app/notify"
	"site/app/store"
)

// fetchJobs is how many jobs the worker fetches at once: up to 64 batches
// of page views (32,000 views at most, a fraction of a second's work),
// stored in transactions of worker.batch_size views, well within the
// stream's AckWait.
const fetchJobs = 64

// openWorker starts the worker role: the consumer of JOBS with the
// handlers of workerHandlers, the alert digests and the image sweep.
func (m *Main) openWorker() error {
	c := jobs.NewConsumer(m.js)
	c.Concurrency = m.Config.Worker.Concurrency
	c.BatchSize = fetchJobs
	c.Logger = m.Logger.With("role", config.RoleWorker)
	c.Outage = store.IsFull // a full disk: jobs wait for space, none dead-lettered for it
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
		sweeper := &imageSweeper{db: m.data.Read, js: m.js, s3: m.store.Client, logger: c.Logger}
		bg.Go(func() { sweeper.run(bctx) })
		defer bg.Wait()
		defer stopBg()
		if err := c.Run(ctx); err != nil {
			m.Logger.Error("worker stopped", "err", err)
		}
	})
	return nil
}

// closeWorker stops fetching jobs and waits, within ctx, for the jobs in
// hand to finish and be acknowledged.
func (m *Main) closeWorker(ctx context.Context) error {
	if m.stopWork == nil {
		return nil
	}
	m.stopWork()
	done := make(chan struct{})
	go func() { m.workDone.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		// Jobs still in hand are not acknowledged and come back to a
		// worker after jobs.AckWait; their ids keep them from counting twice.
		return fmt.Errorf("worker: jobs still running at the shutdown deadline: %w", ctx.Err())
	}
}

// workerHandlers builds the handlers of the worker role from the settings
// and registers the per-job ones on c; it returns the page-view recorder
// (a batch handler) and a func to run beside the consumer until its
// context ends (alert digests), which then releases what the handlers hold.
func (m *Main) workerHandlers(c *jobs.Consumer) (*analytics.Recorder, func(context.Context), error) {
	cfg := m.Config
	log := m.Logger.With("role", config.RoleWorker)
	geo, err := analytics.OpenGeo(cfg.Analytics.GeoIPDB)
	if err != nil {
		return nil, nil, err
	}
	trusted, err := analytics.ParseTrustedProxies(cfg.Analytics.TrustedProxies)
	if err != nil {
		return nil, nil, err
	}
	rec := &analytics.Recorder{
		DB: m.data.Write, Geo: geo, Site: cfg.Site.Name, RespectDNT: cfg.Analytics.RespectDNT,
		TrustedProxies: trusted, MaxViews: cfg.Worker.BatchSize, Logger: log,
		OnCommit: func(s analytics.Summary) {
			_ = events.Publish(m.nc, events.Views{Views: s.Views, Visitors: s.Visitors, Bots: s.Bots, At: s.At,
				Paths: events.Top(s.Paths, events.TopPaths), Countries: s.Countries, Mark: s.Mark})
		},
	}
	img := &media.Processor{
		S3: m.store.Client, Bucket: config.BucketPrivate, DB: m.data.Write, Logger: log,
		Options: media.Options{MaxPixels: cfg.Images.MaxPixels, MaxBytes: cfg.Images.MaxBytes},
		OnReady: func(r media.Ready) {
			_ = events.Publish(m.nc, events.ImageReady{Key: r.Key, Width: r.Width, Height: r.Height,
				Variants: r.Variants, Thumb: r.Thumb, Placeholder: r.Placeholder})
		},
	}
	c.Handlers["image"] = img.Handle
	mailer, texter := senders(cfg, log)
	c.Handlers["notify"] = (&notify.Notifier{Mail: mailer, SMS: texter, DB: m.data.Write}).Handle
	alerter := &notify.Alerter{
		Mail: mailer, Admins: cfg.Notify.Admins, Site: cfg.Site.Name, DB: m.data.Write,
		Every: cfg.Notify.AlertEvery, Logger: log,
		OnAlert: func(a jobs.AlertJob) {
			_ = events.Publish(m.nc, events.Alert{Source: a.Source, Level: a.Level, Message: a.Message, At: a.At})
		},
	}
	c.Handlers["alert"] = alerter.Handle
	mails, err := m.commentMails(log)
	if err != nil {
		_ = geo.Close()
		return nil, nil, err
	}
	// background runs beside the consumer until ctx ends, then releases
	// what the handlers hold.
	background := func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { mails(ctx) })
		alerter.Run(ctx)
		wg.Wait()
		_ = geo.Close()
	}
	return rec, background, nil
}

// senders picks the email and SMS senders: the real ones when configured,
// the log otherwise.
func senders(cfg *config.Config, log *slog.Logger) (notify.Mailer, notify.Texter) {
	var mailer notify.Mailer = &notify.Log{Logger: log}
	var texter notify.Texter = &notify.Log{Logger: log}
	n := cfg.Notify
	if n.SMTPHost != "" {
		mailer = &notify.SMTP{Host: n.SMTPHost, Port: n.SMTPPort, TLS: n.SMTPTLS, User: n.SMTPUser,
			Password: n.SMTPPassword, From: n.From}
	}
	if n.SMSURL != "" {
		texter = &notify.HTTPSMS{URL: n.SMSURL, Token: n.SMSToken}
	}
	return mailer, texter
}

// commentMails returns the worker's loop of the mails about comments
// (comments.Notifier): the admins' notices and digests, and the readers'
// reply notices. It flushes every 15 seconds and at once on each comment's
// live event. Its links are signed with the data dir's auth.key and start
// with web.base_url (or the address web.listen gives).
func (m *Main) commentMails(log *slog.Logger) (func(context.Context), error) {
	cfg := m.Config
	key, err := loadAuthKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	n := &comments.Notifier{
		DB: m.data, Signer: &comments.Signer{Key: key}, Site: cfg.Site.Name, SiteURL: cfg.SiteURL(cfg.Web.Listen),
		Admins: cfg.Notify.Admins, Logger: log,
		Send: func(ctx context.Context, msg jobs.NotifyJob, dedupe string) error {
			j, err := jobs.NewNotifyJob(msg, dedupe)
			if err != nil {
				return err
			}
			return jobs.Publish(ctx, m.js, j)
		},
	}
	return func(ctx context.Context) {
		sub, err := m.nc.Subscribe(events.AllComments, func(*nats.Msg) { n.Poke() })
		if err != nil {
			log.Warn("comment mails: no live events; looking every 15 s only", "err", err)
		}
		n.Run(ctx)
		if sub != nil {
			_ = sub.Unsubscribe()
		}
	}, nil
}
