package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"site/app/backup"
	"site/app/config"
	"site/app/cron"
	"site/app/web"
	"site/views"
)

// SectionBackups is the backups page's section of the panel.
const SectionBackups = "backups"

// cronWait bounds the wait for the cron role's answer to a run request;
// cronStatusWait the wait for its schedules while the page renders.
const (
	cronWait       = 5 * time.Second
	cronStatusWait = 2 * time.Second
)

// backupRows are the rows of the backups page: task, label, and the tier
// whose last verify the row shows ("" for the verify of every tier).
var backupRows = []struct{ task, label, tier string }{
	{config.TaskDaily, "Daily copy (daily/)", backup.TierDaily},
	{config.TaskWeekly, "Weekly copy (1-week/)", backup.TierWeekly},
	{config.TaskBiweekly, "Biweekly copy (2-week/)", backup.TierBiweekly},
	{config.TaskVerify, "Verify every tier", ""},
}

func (a *Admin) backupsRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET /admin/backups", Handler: http.HandlerFunc(a.backupsPage)},
		{Pattern: "POST /admin/backups/run", Handler: http.HandlerFunc(a.backupsRun)},
	}
}

func (a *Admin) backupsPage(w http.ResponseWriter, r *http.Request) {
	a.showBackups(w, r, http.StatusOK, "", "")
}

// showBackups renders the backups page (readBackups) with the outcome of
// an action.
func (a *Admin) showBackups(w http.ResponseWriter, r *http.Request, code int, notice, problem string) {
	d, err := a.readBackups(r.Context(), a.now())
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	d.Notice, d.Problem = notice, problem
	a.page(w, r, code, "Backups", SectionBackups, views.AdminBackups(d))
}

// readBackups reads where backups stand from data.db (what `site backup
// status` reads: the runs, the verifies, the WAL) and from the cron role
// (its schedules and Litestream's position): the backups page shows it
// all, the dashboard's status a summary.
func (a *Admin) readBackups(ctx context.Context, now time.Time) (views.AdminBackupsData, error) {
	d := views.AdminBackupsData{Now: now}

	schedules := map[string]cron.TaskSchedule{}
	sctx, cancel := context.WithTimeout(ctx, cronStatusWait)
	st, err := cron.AskStatus(sctx, a.NC)
	cancel()
	if err != nil {
		d.CronNote = "The cron role did not answer (" + err.Error() + "): backups and replication are not running, or run in a process this one cannot reach over NATS. What follows is what data.db recorded."
		if !errors.Is(err, cron.ErrNoAnswer) {
			a.Logger.Warn("admin: ask cron for its status", "err", err)
		}
	} else {
		d.CronAnswered, d.CronNote = true, "The cron role answers ("+st.Owner+")."
		for _, t := range st.Tasks {
			schedules[t.Name] = t
		}
		if p := st.Replica; p != nil {
			d.Position = &views.ReplicaPosition{LocalTXID: p.LocalTXID, ReplicaTXID: p.ReplicaTXID, LastSync: p.LastSync}
			if p.LocalTXID > p.ReplicaTXID {
				d.Position.Lag = p.LocalTXID - p.ReplicaTXID
			}
		}
	}

	if wal, err := a.Data.WALBytes(); err == nil {
		d.WAL = backup.HumanBytes(wal)
	} else {
		d.WAL = "an unknown amount (" + err.Error() + ")"
	}
	checks, err := backup.LastVerifies(ctx, a.Data.Read)
	if err != nil {
		return d, err
	}
	checkOf := func(tier string) *views.BackupCheck {
		v, ok := checks[tier]
		if !ok {
			return nil
		}
		return &views.BackupCheck{At: v.Started, OK: v.OK, Message: v.Message}
	}
	d.Replica = checkOf(backup.TierReplica)

	// The last run of each task, as `site backup status` reads it; the
	// schedules are the cron role's, so only the names matter here.
	var tasks []cron.Task
	for _, row := range backupRows {
		tasks = append(tasks, cron.Task{Name: row.task, Schedule: config.Schedule{Off: true}})
	}
	status, err := cron.Status(ctx, a.Data.Read, tasks, now)
	if err != nil {
		return d, err
	}
	for i, row := range backupRows {
		t := views.BackupTask{Task: row.task, Label: row.label}
		if sc, ok := schedules[row.task]; ok {
			t.Schedule, t.Next = sc.Schedule, sc.Next
		}
		if last := status[i].Last; last != nil {
			t.Status, t.Trigger, t.Message = last.Status, last.Trigger, last.Message
			t.Started, t.Finished = last.Started, last.Finished
			t.Copied, t.Bytes = last.Stats.Copied, backup.HumanBytes(last.Stats.Bytes)
		}
		if row.tier == "" {
			t.CheckNote = "each tier's row"
		} else {
			t.Check = checkOf(row.tier)
		}
		d.Tasks = append(d.Tasks, t)
	}
	return d, nil
}

// backupsRun asks the cron role to run a task now and shows its answer;
// the request and the answer are audited.
func (a *Admin) backupsRun(w http.ResponseWriter, r *http.Request) {
	task := r.PostFormValue("task")
	i := slices.IndexFunc(backupRows, func(row struct{ task, label, tier string }) bool { return row.task == task })
	if i < 0 {
		a.showBackups(w, r, http.StatusBadRequest, "", fmt.Sprintf("There is no backup task %q to run.", task))
		return
	}
	label := backupRows[i].label
	ctx, cancel := context.WithTimeout(r.Context(), cronWait)
	reply, err := cron.AskRun(ctx, a.NC, task)
	cancel()
	var code int
	var notice, problem, detail string
	switch {
	case errors.Is(err, cron.ErrNoAnswer):
		code, detail = http.StatusServiceUnavailable, "no answer: "+err.Error()
		problem = fmt.Sprintf("Nothing was started: no cron role answered within %s (%s). Start a process with the cron role, connected to the same NATS, and try again.",
			cronWait, err)
	case err != nil:
		a.Logger.Error("admin: ask cron to run", "task", task, "err", err)
		code, detail, problem = http.StatusBadGateway, "error: "+err.Error(), "Nothing was started: "+err.Error()
	case reply.Answer == cron.AnswerStarted:
		code, detail = http.StatusOK, fmt.Sprintf("started run %d on %s", reply.Run, reply.Owner)
		notice = fmt.Sprintf("%s started (run %d). It proceeds in the cron role; reload this page to follow it.", label, reply.Run)
	case reply.Answer == cron.AnswerBusy:
		code, detail = http.StatusConflict, "busy: "+reply.Message
		problem = fmt.Sprintf("%s is already running (%s); nothing more was started.", label, reply.Message)
	default:
		code, detail = http.StatusBadGateway, reply.Answer+": "+reply.Message
		problem = fmt.Sprintf("The cron role refused to run %s: %s", label, reply.Message)
	}
	if aerr := a.Audit(r, "backup.run", task, detail); aerr != nil {
		a.Logger.Error("admin: audit", "action", "backup.run", "err", aerr)
	}
	a.showBackups(w, r, code, notice, problem)
}
