package cron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"site/app/config"
)

// Subjects of the cron role's request/reply on core NATS; the cron role
// may be another process than the one asking (the admin panel's).
const (
	// SubjectRun asks for a run now: a RunRequest, answered by a RunReply.
	SubjectRun = "cron.backup.run"
	// SubjectStatus asks for the schedule of every task: an empty request,
	// answered by a StatusReply.
	SubjectStatus = "cron.backup.status"
	// queueGroup makes one cron process answer each request when several run.
	queueGroup = "cron"
)

// RunnableNow are the tasks a run request may start: the offsite tiers
// and the verify of every tier.
var RunnableNow = []string{config.TaskDaily, config.TaskWeekly, config.TaskBiweekly, config.TaskVerify}

// Answers of a RunReply.
const (
	// AnswerStarted: the run is recorded and proceeds in the background.
	AnswerStarted = "started"
	// AnswerBusy: the task is running already (this process or another).
	AnswerBusy = "busy"
	// AnswerRefused: unknown task, or the run could not begin.
	AnswerRefused = "refused"
)

// RunRequest asks the cron role to start Task now.
type RunRequest struct {
	Task string `json:"task"`
}

// RunReply is the cron role's answer to a RunRequest, sent at once.
type RunReply struct {
	Task   string `json:"task"`
	Answer string `json:"answer"`
	// Run is the id of the started run in cron_runs.
	Run int64 `json:"run,omitempty"`
	// Message says why a run is busy or refused.
	Message string `json:"message,omitempty"`
	// Owner names the answering process.
	Owner string `json:"owner"`
}

// TaskSchedule is a task's schedule as the cron role runs it.
type TaskSchedule struct {
	Name     string    `json:"name"`
	Schedule string    `json:"schedule"`
	Next     time.Time `json:"next"`
}

// StatusReply is the cron role's answer on SubjectStatus.
type StatusReply struct {
	Owner string         `json:"owner"`
	Tasks []TaskSchedule `json:"tasks"`
	// Replica is Litestream's position, when this process replicates.
	Replica *ReplicaPosition `json:"replica,omitempty"`
}

// ReplicaPosition is where replication of data.db stands: the last
// transaction written locally, the last one in the replica, and the last
// successful sync.
type ReplicaPosition struct {
	LocalTXID   uint64    `json:"local_txid"`
	ReplicaTXID uint64    `json:"replica_txid"`
	LastSync    time.Time `json:"last_sync"`
}

// ErrNoAnswer is returned by AskRun and AskStatus when no cron role answered.
var ErrNoAnswer = errors.New("no cron role answered")

// StartNow begins the named task as a manual run and returns its id at
// once; the run proceeds in a goroutine on ctx (cancelled: recorded as
// interrupted), counted in wg. ErrBusy (ErrRunning in this process) when
// it is running already.
func (s *Scheduler) StartNow(ctx context.Context, name string, wg *sync.WaitGroup) (int64, error) {
	i := slices.IndexFunc(s.Tasks, func(t Task) bool { return t.Name == name })
	if i < 0 {
		return 0, fmt.Errorf("cron: unknown task %q", name)
	}
	t := s.Tasks[i]
	id, err := s.begin(ctx, t.Name, time.Time{}, TriggerManual)
	if err != nil {
		return 0, err
	}
	wg.Go(func() { _, _ = s.execute(ctx, t, id, time.Time{}, TriggerManual) })
	return id, nil
}

// Responder answers the cron role's requests: a run now (started through
// the Scheduler's own lease and records, like a scheduled run) and the
// schedule. Set the fields, then Run.
type Responder struct {
	// NC is the process's NATS connection.
	NC *nats.Conn
	// Scheduler is the cron role's scheduler (open).
	Scheduler *Scheduler
	// Position, when set, reports Litestream's position for the status.
	Position func() (ReplicaPosition, error)
	// Logger receives requests and failures.
	Logger *slog.Logger
}

// Run answers until ctx ends, then stops listening and waits for the runs
// it started: ctx's end interrupts them, and they are recorded so.
func (r *Responder) Run(ctx context.Context) {
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	// runs counts the runs started; once stopped is set (under mu) no
	// request adds one, so the Wait below never races an Add.
	var runs sync.WaitGroup
	var mu sync.Mutex
	stopped := false
	defer func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		runs.Wait()
	}()
	runSub, err := r.NC.QueueSubscribe(SubjectRun, queueGroup, func(m *nats.Msg) {
		mu.Lock()
		reply := r.startRun(ctx, m.Data, &runs, stopped)
		mu.Unlock()
		log.Info("cron: run asked", "task", reply.Task, "answer", reply.Answer, "run", reply.Run, "message", reply.Message)
		respond(m, reply, log)
	})
	if err != nil {
		log.Error("cron: listen for run requests", "err", err)
		return
	}
	defer func() { _ = runSub.Unsubscribe() }()
	statusSub, err := r.NC.QueueSubscribe(SubjectStatus, queueGroup, func(m *nats.Msg) {
		s := r.Scheduler
		reply := StatusReply{Owner: s.Owner}
		for _, t := range s.Tasks {
			reply.Tasks = append(reply.Tasks, TaskSchedule{Name: t.Name, Schedule: t.Schedule.String(), Next: t.Schedule.Next(s.Now())})
		}
		if r.Position != nil {
			if p, err := r.Position(); err == nil {
				reply.Replica = &p
			} else {
				log.Warn("cron: replica position", "err", err)
			}
		}
		respond(m, reply, log)
	})
	if err != nil {
		log.Error("cron: listen for status requests", "err", err)
		return
	}
	defer func() { _ = statusSub.Unsubscribe() }()
	if err := r.NC.Flush(); err != nil {
		log.Warn("cron: flush subscriptions", "err", err)
	}
	<-ctx.Done()
}

// startRun answers a run request.
func (r *Responder) startRun(ctx context.Context, data []byte, runs *sync.WaitGroup, stopped bool) RunReply {
	var req RunRequest
	reply := RunReply{Owner: r.Scheduler.Owner}
	if err := json.Unmarshal(data, &req); err != nil {
		reply.Answer, reply.Message = AnswerRefused, "bad request: "+err.Error()
		return reply
	}
	reply.Task = req.Task
	if !slices.Contains(RunnableNow, req.Task) {
		reply.Answer, reply.Message = AnswerRefused, fmt.Sprintf("%q cannot be run on request (%v)", req.Task, RunnableNow)
		return reply
	}
	if stopped || ctx.Err() != nil {
		reply.Answer, reply.Message = AnswerRefused, "the cron role is stopping"
		return reply
	}
	id, err := r.Scheduler.StartNow(ctx, req.Task, runs)
	switch {
	case errors.Is(err, ErrBusy):
		reply.Answer, reply.Message = AnswerBusy, err.Error()
	case err != nil:
		reply.Answer, reply.Message = AnswerRefused, err.Error()
	default:
		reply.Answer, reply.Run = AnswerStarted, id
	}
	return reply
}

func respond(m *nats.Msg, v any, log *slog.Logger) {
	b, err := json.Marshal(v)
	if err == nil {
		err = m.Respond(b)
	}
	if err != nil {
		log.Warn("cron: answer request", "subject", m.Subject, "err", err)
	}
}

// AskRun asks the cron role, by NATS request/reply, to start task now
// and returns its answer; ErrNoAnswer when none answered before ctx ended
// (or no process listens).
func AskRun(ctx context.Context, nc *nats.Conn, task string) (RunReply, error) {
	var reply RunReply
	b, _ := json.Marshal(RunRequest{Task: task})
	return reply, ask(ctx, nc, SubjectRun, b, &reply)
}

// AskStatus asks the cron role for its tasks' schedules; ErrNoAnswer when
// none answered before ctx ended.
func AskStatus(ctx context.Context, nc *nats.Conn) (StatusReply, error) {
	var reply StatusReply
	return reply, ask(ctx, nc, SubjectStatus, nil, &reply)
}

func ask(ctx context.Context, nc *nats.Conn, subject string, data []byte, v any) error {
	if nc == nil {
		return fmt.Errorf("%w: this process has no NATS connection", ErrNoAnswer)
	}
	m, err := nc.RequestWithContext(ctx, subject, data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("%w: no process with the cron role is listening on NATS", ErrNoAnswer)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return fmt.Errorf("%w: no answer in time", ErrNoAnswer)
	case err != nil:
		return fmt.Errorf("cron: ask %s: %w", subject, err)
	}
	if err := json.Unmarshal(m.Data, v); err != nil {
		return fmt.Errorf("cron: answer on %s: %w", subject, err)
	}
	return nil
}
