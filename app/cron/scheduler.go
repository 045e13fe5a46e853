// Package cron runs the cron role's scheduled tasks: a table of tasks (one
// file per task), each due at the slots of its config.Schedule. Every run is
// recorded in data.db (cron_runs); a slot that passed while no cron process
// was up is run at the next start; and a lease row per task, taken in an
// IMMEDIATE transaction and renewed while the run lasts, keeps two cron
// processes from running the same task at once. A process killed mid-run
// stops renewing, so its lease expires (LeaseTTL) and the task runs again.
package cron

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"site/app/backup"
	"site/app/config"
)

// Run statuses recorded in cron_runs.
const (
	StatusRunning     = "running"
	StatusOK          = "ok"
	StatusFailed      = "failed"
	StatusSkipped     = "skipped"
	StatusInterrupted = "interrupted"
)

// Triggers recorded in cron_runs.
const (
	TriggerSchedule = "schedule"
	TriggerMissed   = "missed"
	TriggerManual   = "manual"
)

// Task is one row of the table of scheduled tasks.
type Task struct {
	// Name keys the task's schedule state, lease and runs.
	Name string
	// Schedule says when it is due.
	Schedule config.Schedule
	// Run does the work; an Outcome with Skipped set records a skip.
	Run func(ctx context.Context) (Outcome, error)
}

// Outcome is what a task reports about a run.
type Outcome struct {
	// Skipped marks a run that had nothing it could do; Message says why.
	Skipped bool
	// Message is a one-line summary.
	Message string
	// Stats counts objects and bytes, for the backup tasks.
	Stats backup.Stats
}

// DefaultRetries are the Scheduler's waits before a failed slot runs again.
var DefaultRetries = []time.Duration{5 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// ErrBusy is returned by RunNow while another process holds the task's lease.
var ErrBusy = errors.New("running in another process")

// ErrRunning is returned by RunNow and StartNow while this process is
// running the task; it is an ErrBusy.
var ErrRunning = fmt.Errorf("%w: already running in this process", ErrBusy)

// Scheduler runs Tasks when they are due. Set the fields, then Open and Start.
type Scheduler struct {
	// DB is data.db's writer connection.
	DB *sql.DB
	// Tasks is the table of tasks, in the order ties run.
	Tasks []Task
	// Now is the clock; default time.Now. Tests drive it.
	Now func() time.Time
	// Owner names this process in leases and runs; default host:pid:random.
	Owner string
	// LeaseTTL is how long a lease lasts without renewal; default 2 minutes.
	LeaseTTL time.Duration
	// Tick is how often due tasks are looked for; default 30s.
	Tick time.Duration
	// Retries are the waits before the scheduled slot of a failed run is
	// tried again (an offsite store unreachable for a while): after the
	// last, the slot is given up and the next slot's run, incremental,
	// catches up. Default DefaultRetries; manual runs are not retried.
	Retries []time.Duration
	// OnFailure is called after a run fails (not when it is interrupted);
	// err says whether the slot will be retried.
	OnFailure func(ctx context.Context, task string, err error)
	// Logger receives start, end and failure of each run.
	Logger *slog.Logger

	stop context.CancelFunc
	done sync.WaitGroup
}

// Result is a finished run.
type Result struct {
	ID      int64
	Task    string
	Status  string
	Message string
	Stats   backup.Stats
}

// Open fills the defaults, records the current slot of tasks seen for the
// first time (nothing is "missed" before a task existed) and marks runs
// left "running" by a killed process as interrupted.
func (s *Scheduler) Open(ctx context.Context) error {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		s.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if s.LeaseTTL <= 0 {
		s.LeaseTTL = 2 * time.Minute
	}
	if s.Tick <= 0 {
		s.Tick = 30 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Retries == nil {
		s.Retries = DefaultRetries
	}
	now := s.Now()
	for _, t := range s.Tasks {
		slot := t.Schedule.Prev(now)
		if slot.IsZero() {
			continue
		}
		if _, err := s.DB.ExecContext(ctx, `INSERT INTO cron_tasks (name, last_slot, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, t.Name, slot.Unix(), now.Unix()); err != nil {
			return fmt.Errorf("cron: open: %w", err)
		}
	}
	_, err := s.DB.ExecContext(ctx, `UPDATE cron_runs SET status = ?, finished_at = ?, message = 'the process running it stopped'
		WHERE status = ? AND task NOT IN (SELECT name FROM cron_leases WHERE expires_at > ?)`,
		StatusInterrupted, now.UnixMilli(), StatusRunning, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("cron: open: %w", err)
	}
	return nil
}

// Start runs due tasks now (so missed ones run at start) and then every
// Tick, in a goroutine, until Close.
func (s *Scheduler) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.done.Go(func() {
		t := time.NewTicker(s.Tick)
		defer t.Stop()
		for {
			if err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
				s.Logger.Error("cron: look for due tasks", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// Close stops the loop; a run in progress is cancelled and recorded as
// interrupted, so it runs again at the next start.
func (s *Scheduler) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.done.Wait()
}

// due is a task whose slot has come.
type due struct {
	task  Task
	order int
	slot  time.Time
}

// RunDue runs, one after the other, every task whose latest slot is after
// the last one it ran for, oldest slot first (ties in table order), and
// returns when they are done. A task whose lease another process holds is
// left to that process.
func (s *Scheduler) RunDue(ctx context.Context) error {
	now := s.Now()
	last := map[string]int64{}
	rows, err := s.DB.QueryContext(ctx, `SELECT name, last_slot FROM cron_tasks`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		var slot int64
		if err := rows.Scan(&name, &slot); err != nil {
			rows.Close()
			return err
		}
		last[name] = slot
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var list []due
	for i, t := range s.Tasks {
		slot := t.Schedule.Prev(now)
		if slot.IsZero() {
			continue
		}
		if l, ok := last[t.Name]; ok && slot.Unix() <= l {
			continue
		}
		failed, lastFailed, err := s.failures(ctx, t.Name, slot)
		if err != nil {
			return err
		}
		if failed > 0 && len(s.Retries) > 0 && now.Before(lastFailed.Add(s.Retries[min(failed, len(s.Retries))-1])) {
			continue // failed; its retry is not due yet
		}
		list = append(list, due{task: t, order: i, slot: slot})
	}
	slices.SortStableFunc(list, func(a, b due) int {
		if c := a.slot.Compare(b.slot); c != 0 {
			return c
		}
		return a.order - b.order
	})
	for _, d := range list {
		if ctx.Err() != nil {
			return nil
		}
		trigger := TriggerSchedule
		if now.Sub(d.slot) > 2*s.Tick {
			trigger = TriggerMissed
		}
		_, err := s.run(ctx, d.task, d.slot, trigger)
		if errors.Is(err, ErrBusy) {
			s.Logger.Info("cron: task already running; its slot waits", "task", d.task.Name, "why", err)
		}
	}
	return nil
}

// failures counts the failed runs of task's slot, and when the last one
// finished.
func (s *Scheduler) failures(ctx context.Context, task string, slot time.Time) (int, time.Time, error) {
	var n int
	var last int64
	err := s.DB.QueryRowContext(ctx, `SELECT count(*), coalesce(max(finished_at), 0) FROM cron_runs
		WHERE task = ? AND slot = ? AND status = ?`, task, slot.Unix(), StatusFailed).Scan(&n, &last)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("cron: failed runs of %s: %w", task, err)
	}
	return n, time.UnixMilli(last), nil
}

// RunNow runs the named task at once, as a manual run, and returns its
// result; ErrBusy when another process is running it.
func (s *Scheduler) RunNow(ctx context.Context, name string) (Result, error) {
	for _, t := range s.Tasks {
		if t.Name == name {
			return s.run(ctx, t, time.Time{}, TriggerManual)
		}
	}
	return Result{}, fmt.Errorf("cron: unknown task %q", name)
}

// run takes the lease, records the run, runs the task while renewing the
// lease and records the outcome. slot is zero for a manual run.
func (s *Scheduler) run(ctx context.Context, t Task, slot time.Time, trigger string) (Result, error) {
	id, err := s.begin(ctx, t.Name, slot, trigger)
	if err != nil || id == 0 {
		return Result{}, err
	}
	return s.execute(ctx, t, id, slot, trigger)
}

// execute runs the task of run id, begun (lease taken, run recorded),
// while renewing the lease, and records the outcome.
func (s *Scheduler) execute(ctx context.Context, t Task, id int64, slot time.Time, trigger string) (Result, error) {
	log := s.Logger.With("task", t.Name, "run", id, "trigger", trigger)
	log.Info("cron: run started")
	start := time.Now()
	rctx, cancel := context.WithCancelCause(ctx)
	var renew sync.WaitGroup
	stopRenew := make(chan struct{})
	renew.Go(func() { s.renew(rctx, t.Name, stopRenew, cancel) })
	out, runErr := t.Run(rctx)
	close(stopRenew)
	renew.Wait()
	lost := context.Cause(rctx)
	cancel(nil)

	res := Result{ID: id, Task: t.Name, Status: StatusOK, Message: out.Message, Stats: out.Stats}
	advance := true
	switch {
	case ctx.Err() != nil:
		res.Status, res.Message, advance = StatusInterrupted, "stopped by shutdown", false
	case lost != nil && errors.Is(runErr, context.Canceled):
		res.Status, res.Message, advance = StatusInterrupted, lost.Error(), false
	case runErr != nil:
		res.Status, res.Message = StatusFailed, runErr.Error()
		if !slot.IsZero() {
			// The slot stays due until its retries are spent.
			failed, _, err := s.failures(ctx, t.Name, slot)
			if err != nil {
				log.Error("cron: count failed runs", "err", err)
			}
			if failed < len(s.Retries) {
				advance = false
				runErr = fmt.Errorf("%w (try %d of %d; again in %s)", runErr, failed+1, len(s.Retries)+1, s.Retries[failed])
			} else if len(s.Retries) > 0 {
				runErr = fmt.Errorf("%w (try %d of %d: given up until the next scheduled run, which catches up)", runErr, failed+1, len(s.Retries)+1)
			}
			res.Message = runErr.Error()
		}
	case out.Skipped:
		res.Status = StatusSkipped
	}
	if err := s.finish(context.WithoutCancel(ctx), t.Name, id, slot, advance, res); err != nil {
		log.Error("cron: record run", "err", err)
	}
	took := time.Since(start).Round(time.Millisecond)
	switch res.Status {
	case StatusFailed:
		log.Error("cron: run failed", "took", took, "err", runErr)
		if s.OnFailure != nil {
			s.OnFailure(context.WithoutCancel(ctx), t.Name, runErr)
		}
		return res, runErr
	case StatusInterrupted:
		log.Warn("cron: run interrupted", "took", took, "why", res.Message)
		return res, fmt.Errorf("%s: interrupted: %s", t.Name, res.Message)
	default:
		log.Info("cron: run done", "status", res.Status, "took", took, "message", res.Message)
	}
	return res, nil
}
