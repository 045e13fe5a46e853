package cron_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"site/app/config"
	"site/app/cron"
	"site/internal/testkit"
)

// TestResponder: a run asked over NATS starts through the scheduler's
// lease and records and is answered at once; asked again while it runs,
// the answer is busy; an unknown task is refused; the status names the
// schedules; with no responder the ask says no cron role answered.
func TestResponder(t *testing.T) {
	ctx := t.Context()
	b := testkit.NATS(t)
	data := testkit.DataDB(t)
	started, release := make(chan struct{}), make(chan struct{})
	daily := config.Schedule{Hour: 3, Minute: 30}
	s := &cron.Scheduler{DB: data.Write, Logger: testLogger(t), Tasks: []cron.Task{{Name: config.TaskDaily, Schedule: daily,
		Run: func(ctx context.Context) (cron.Outcome, error) {
			close(started)
			select {
			case <-release:
				return cron.Outcome{Message: "3 objects copied"}, nil
			case <-ctx.Done():
				return cron.Outcome{}, ctx.Err()
			}
		}}}}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := cron.AskRun(ctx, b.Conn, config.TaskDaily); !errors.Is(err, cron.ErrNoAnswer) {
		t.Fatalf("ask with no cron role: %v, want ErrNoAnswer", err)
	}

	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&cron.Responder{NC: b.Conn, Scheduler: s, Logger: testLogger(t), Position: func() (cron.ReplicaPosition, error) {
			return cron.ReplicaPosition{LocalTXID: 42, ReplicaTXID: 41, LastSync: time.Unix(1_800_000_000, 0)}, nil
		}}).Run(rctx)
	}()
	t.Cleanup(func() { stop(); <-done })

	var reply cron.RunReply
	testkit.WaitFor(t, 10*time.Second, "the responder to listen", func() bool {
		var err error
		reply, err = cron.AskRun(ctx, b.Conn, config.TaskDaily)
		return !errors.Is(err, cron.ErrNoAnswer)
	})
	if reply.Answer != cron.AnswerStarted || reply.Run == 0 {
		t.Fatalf("first ask: %+v", reply)
	}
	<-started
	again, err := cron.AskRun(ctx, b.Conn, config.TaskDaily)
	if err != nil || again.Answer != cron.AnswerBusy {
		t.Errorf("ask while running: %+v, %v; want busy", again, err)
	}
	if r, err := cron.AskRun(ctx, b.Conn, config.TaskTTLCleanup); err != nil || r.Answer != cron.AnswerRefused {
		t.Errorf("ask for ttl_cleanup: %+v, %v; want refused", r, err)
	}
	st, err := cron.AskStatus(ctx, b.Conn)
	if err != nil || len(st.Tasks) != 1 || st.Tasks[0].Schedule != "daily 03:30" || st.Tasks[0].Next.IsZero() {
		t.Errorf("status: %+v, %v", st, err)
	}
	if p := st.Replica; p == nil || p.LocalTXID != 42 || p.ReplicaTXID != 41 || p.LastSync.Unix() != 1_800_000_000 {
		t.Errorf("status's replica position: %+v", st.Replica)
	}
	close(release)
	testkit.WaitFor(t, 10*time.Second, "the run recorded ok", func() bool {
		got := runs(t, data.Read)[config.TaskDaily]
		return len(got) == 1 && got[0] == "ok/manual"
	})
}

// TestResponderStopInterrupts: a run started on request is interrupted
// when the responder stops, and recorded so.
func TestResponderStopInterrupts(t *testing.T) {
	ctx := t.Context()
	b := testkit.NATS(t)
	data := testkit.DataDB(t)
	started := make(chan struct{})
	s := &cron.Scheduler{DB: data.Write, Logger: testLogger(t), Tasks: []cron.Task{{Name: config.TaskVerify, Schedule: config.Schedule{Off: true},
		Run: func(ctx context.Context) (cron.Outcome, error) {
			close(started)
			<-ctx.Done()
			return cron.Outcome{}, ctx.Err()
		}}}}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&cron.Responder{NC: b.Conn, Scheduler: s, Logger: testLogger(t)}).Run(rctx)
	}()
	testkit.WaitFor(t, 10*time.Second, "a started run", func() bool {
		r, err := cron.AskRun(ctx, b.Conn, config.TaskVerify)
		return err == nil && r.Answer == cron.AnswerStarted
	})
	<-started
	stop()
	<-done
	if got := runs(t, data.Read)[config.TaskVerify]; len(got) != 1 || got[0] != "interrupted/manual" {
		t.Errorf("runs after stop: %v", got)
	}
}
