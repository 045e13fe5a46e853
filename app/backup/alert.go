package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"

	"site/app/jobs"
)

// Alert is the JSON payload of the jobs.alert job published when an offsite
// run or a verify fails, for the alert handler of the worker (admin email,
// rate-limited):
//
//	{"source":"backup","level":"error","message":"daily: list s3://...: ...","at":"2026-11-27T03:30:05Z"}
//
// source is always "backup" here; level is "error"; message is one line;
// at is RFC 3339 UTC. The job id is "alert-backup-<unix ns>-<random>".
type Alert struct {
	Source  string    `json:"source"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Alerter raises alerts: as jobs.alert jobs through Enqueue when the process
// has a NATS connection, and always in the log at error level.
type Alerter struct {
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
	al := Alert{Source: "backup", Level: "error", Message: message, At: time.Now().UTC()}
	if a.Enqueue == nil {
		logger.Error("backup alert (no NATS connection in this process to publish jobs.alert)", "message", message)
		return
	}
	body, _ := json.Marshal(al) // plain fields: cannot fail
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := "alert-backup-" + time.Now().Format("20060102T150405.000000000") + "-" + hex.EncodeToString(b)
	if !a.Enqueue(jobs.Job{ID: id, Subject: jobs.SubjectAlert, Data: body}) {
		logger.Error("backup alert (work queue full; not published)", "message", message)
		return
	}
	logger.Error("backup alert published", "subject", jobs.SubjectAlert, "id", id, "message", message)
}
