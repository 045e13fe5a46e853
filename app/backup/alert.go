package backup

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"site/app/jobs"
)

// Alerter raises alerts: as jobs.alert jobs (payload jobs.AlertJob with
// Source and level "error") through Enqueue when the process has a NATS
// connection, and always in the log at error level.
type Alerter struct {
	// Source names what raises the alerts; default "backup".
	Source string
	// Enqueue hands a job to the work queue (jobs.Publisher.Enqueue); nil
	// when the process has no NATS connection.
	Enqueue func(jobs.Job) bool
	Logger  *slog.Logger
}

// Raise reports message as an error alert from the backups.
func (a *Alerter) Raise(_ context.Context, message string) {
	logger := a.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if a.Enqueue == nil {
		logger.Error("alert (no NATS connection in this process to publish jobs.alert)", "message", message)
		return
	}
	j, err := jobs.NewAlertJob(jobs.AlertJob{Source: cmp.Or(a.Source, "backup"), Level: "error", Message: message, At: time.Now().UTC()})
	if err != nil {
		logger.Error("alert (not encoded)", "message", message, "err", err)
		return
	}
	if !a.Enqueue(j) {
		logger.Error("alert (work queue full; not published)", "message", message)
		return
	}
	logger.Error("alert published", "subject", j.Subject, "id", j.ID, "message", message)
}
