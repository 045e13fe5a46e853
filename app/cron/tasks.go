package cron

import (
	"context"
	"database/sql"

	"site/app/backup"
	"site/app/config"
)

// Deps is what the scheduled tasks work on.
type Deps struct {
	// TTL is ttl.db's writer connection.
	TTL *sql.DB
	// Data is data.db's writer connection, for verify results.
	Data *sql.DB
	// Offsite is the open offsite client; nil when offsite backups are off,
	// and OffsiteOff then says why.
	Offsite    *backup.Offsite
	OffsiteOff string
	// Sync forces a Litestream sync of data.db; nil when the replicator does
	// not run in this process.
	Sync func(ctx context.Context) error
	// ScratchDir receives the temporary restores of verify.
	ScratchDir string
}

// Table returns the table of scheduled tasks with their times from c:
// ttl.db cleanup, the three offsite tiers and the weekly verify. On a day
// when several are due they run oldest tier first (biweekly, weekly,
// daily) when their times say so, which the defaults do, so each tier
// receives the previous state of the one below it.
func Table(c config.Cron, d Deps) ([]Task, error) {
	makers := []struct {
		name string
		run  func(Deps) func(context.Context) (Outcome, error)
	}{
		{config.TaskTTLCleanup, ttlCleanup},
		{config.TaskBiweekly, offsiteBiweekly},
		{config.TaskWeekly, offsiteWeekly},
		{config.TaskDaily, offsiteDaily},
		{config.TaskVerify, offsiteVerify},
	}
	var tasks []Task
	for _, m := range makers {
		sc, err := c.Schedule(m.name)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, Task{Name: m.name, Schedule: sc, Run: m.run(d)})
	}
	return tasks, nil
}

// offsiteOff is the outcome of an offsite task while offsite backups are off.
func offsiteOff(d Deps) (Outcome, bool) {
	if d.Offsite != nil {
		return Outcome{}, false
	}
	msg := d.OffsiteOff
	if msg == "" {
		msg = "offsite backups are off"
	}
	return Outcome{Skipped: true, Message: msg}, true
}
