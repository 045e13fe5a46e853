package main

import (
	"context"
	"fmt"
	"os"

	"site/app/backup"
	"site/app/config"
	"site/app/cron"
	"site/app/metrics"
	"site/embedded/replica"
)

// openReplica starts the cron role's Litestream replication of data.db,
// before the roles that write it, and prepares the replica's check.
func (m *Main) openReplica(ctx context.Context) error {
	r := &replica.Replicator{
		DBPath:       m.data.Path,
		Target:       replicaTarget(m.Config, m.store.Endpoint),
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

// openCron starts the scheduler of the cron role beside the replicator:
// the daily run forces a Litestream sync first through it. Failed runs
// raise alerts as jobs.alert jobs when this process has NATS.
func (m *Main) openCron(ctx context.Context) error {
	cfg := m.Config
	logger := m.Logger.With("role", config.RoleCron)
	off, why, err := offsiteFor(ctx, cfg, m.store.Endpoint, logger)
	if err != nil {
		return fmt.Errorf("cron: %w", err)
	}
	if err := os.MkdirAll(scratchDir(cfg), 0o750); err != nil {
		return fmt.Errorf("cron: %w", err)
	}
	deps := cron.Deps{TTL: m.ttl.Write, Data: m.data.Write, Offsite: off, OffsiteOff: why, ScratchDir: scratchDir(cfg)}
	if m.replica != nil {
		deps.Sync = m.replica.Sync
	}
	tasks, err := cron.Table(cfg.Cron, deps)
	if err != nil {
		return fmt.Errorf("cron: %w", err)
	}
	alerter := m.newAlerter(logger)
	s := &cron.Scheduler{DB: m.data.Write, Tasks: tasks, Logger: logger,
		OnFailure: func(ctx context.Context, task string, err error) { alerter.Raise(ctx, task+": "+err.Error()) }}
	if err := s.Open(ctx); err != nil {
		return err
	}
	s.Start()
	m.cron = s
	// The admin panel (a web process, maybe another one) asks cron to run
	// a backup tier now over NATS request/reply.
	if m.nc != nil {
		resp := &cron.Responder{NC: m.nc, Scheduler: s, Logger: logger}
		if m.replica != nil {
			resp.Position = func() (cron.ReplicaPosition, error) {
				p, err := m.replica.Position()
				return cron.ReplicaPosition{LocalTXID: p.LocalTXID, ReplicaTXID: p.ReplicaTXID, LastSync: p.LastSync}, err
			}
		}
		m.startBackground(resp.Run)
	}
	if m.check != nil {
		m.check.Alert = alerter.Raise
		m.startBackground(m.check.Run)
	}
	return nil
}

// newReplicaCheck prepares the check of the replica that the cron role runs
// at its start and every replica.check_interval; openCron starts it.
func (m *Main) newReplicaCheck() *backup.ReplicaCheck {
	return &backup.ReplicaCheck{
		Target: replicaTarget(m.Config, m.store.Endpoint),
		Live:   m.data.Read,
		Record: func(ctx context.Context, r backup.VerifyResult) error {
			return backup.RecordVerify(ctx, m.data.Write, r)
		},
		Sync: m.replica.Sync, Snapshot: m.replica.Snapshot,
		OnResult: func(r backup.VerifyResult) {
			result, ok := "failed", 0.0
			if r.OK {
				result, ok = "ok", 1
			}
			metrics.ReplicaChecks.WithLabelValues(result).Inc()
			metrics.ReplicaCheckOK.Set(ok)
			metrics.ReplicaCheckTime.Set(float64(r.Finish.Unix()))
		},
		ScratchDir: scratchDir(m.Config),
		Interval:   m.Config.Replica.CheckInterval,
		Logger:     m.Logger.With("role", config.RoleCron),
	}
}

// closeCron stops the scheduler of the cron role: a run in progress is
// recorded as interrupted and runs again at the next start.
func (m *Main) closeCron() {
	if m.cron != nil {
		m.cron.Close()
	}
}

// closeReplica makes Litestream's final sync of what data.db committed,
// within ctx; the databases are closed first.
func (m *Main) closeReplica(ctx context.Context) error {
	if m.replica == nil {
		return nil
	}
	if err := m.replica.Close(ctx); err != nil {
		return fmt.Errorf("final litestream sync: %w", err)
	}
	return nil
}
