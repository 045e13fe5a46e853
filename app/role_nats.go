package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/config"
	"site/app/jobs"
	"site/embedded/natsd"
)

// openNATS starts the nats role (the embedded server with JetStream) when
// this process runs it, then connects the roles that use NATS and creates
// or updates the streams.
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
			m.warnSmallQueue(ctx, js)
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

// warnSmallQueue says so when the disk was too small for a full-size job
// queue (EnsureStreams shrank it to fit).
func (m *Main) warnSmallQueue(ctx context.Context, js jetstream.JetStream) {
	s, err := js.Stream(ctx, jobs.StreamJobs)
	if err != nil {
		return
	}
	if limit := s.CachedInfo().Config.MaxBytes; limit > 0 && limit < jobs.JobsMaxBytes {
		m.Logger.Warn("little free disk space for NATS: the job queue holds at most this much; free space and restart for more",
			"max_bytes", limit, "full_size", int64(jobs.JobsMaxBytes))
	}
}

// natsWhere names the NATS server this process uses, for messages.
func natsWhere(cfg *config.Config) string {
	if cfg.NATS.URL != "" {
		return cfg.NATS.URL
	}
	return "in-process"
}

// closeNATS closes the connection, then the embedded server if this
// process runs it: NATS stops last.
func (m *Main) closeNATS() error {
	if m.nc != nil {
		m.nc.Close()
	}
	if m.natsd == nil {
		return nil
	}
	return m.natsd.Close()
}
