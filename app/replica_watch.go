package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"site/app/backup"
	"site/app/jobs"
	"site/app/metrics"
)

// walWatchInterval is how often a process looks at the size of data.db's WAL.
const walWatchInterval = 5 * time.Second

// startBackground runs fn in the background until Close.
func (m *Main) startBackground(fn func(ctx context.Context)) {
	if m.stopBackground == nil {
		m.backgroundCtx, m.stopBackground = context.WithCancel(context.Background())
	}
	ctx := m.backgroundCtx
	m.background.Go(func() { fn(ctx) })
}

// newAlerter returns an Alerter that publishes jobs.alert through this
// process's NATS connection, if it has one.
func (m *Main) newAlerter(logger *slog.Logger) *backup.Alerter {
	a := &backup.Alerter{Logger: logger}
	switch {
	case m.pub != nil:
		a.Enqueue = m.pub.Enqueue
	case m.js != nil:
		if m.alertPub == nil {
			m.alertPub = jobs.NewPublisher(m.js)
			m.alertPub.Logger = logger
			m.alertPub.Open()
		}
		a.Enqueue = m.alertPub.Enqueue
	}
	return a
}

// watchWAL reports the size of data.db's WAL in /metrics and, in a process
// without the cron role, raises an alert once each time it grows past
// replica.wal_alert_bytes: only Litestream checkpoints the WAL, so a WAL
// that keeps growing means the cron role is away.
func (m *Main) watchWAL(ctx context.Context, alert func(context.Context, string)) {
	alerted := false
	for {
		if size, err := m.data.WALBytes(); err != nil {
			m.Logger.Warn("data.db wal", "err", err)
		} else {
			metrics.WALBytes.Set(float64(size))
			over := alert != nil && size > int64(m.Config.Replica.WALAlertBytes)
			if over && !alerted {
				alert(ctx, fmt.Sprintf("data.db's WAL has grown to %s (replica.wal_alert_bytes is %s): only the cron role's Litestream checkpoints it, so cron has not been running; start it", backup.HumanBytes(size), backup.HumanBytes(int64(m.Config.Replica.WALAlertBytes))))
			}
			alerted = over
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(walWatchInterval):
		}
	}
}
