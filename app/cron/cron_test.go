package cron_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"site/app/backup/backuptest"
	"site/app/config"
	"site/app/cron"
	"site/internal/testkit"
)

func TestMain(m *testing.M) { os.Exit(backuptest.Main(m)) }

// clock is a settable time for the scheduler.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

// runs returns task → statuses of its runs, in order.
func runs(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	rows, err := db.Query(`SELECT task, status, trigger FROM cron_runs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var task, status, trigger string
		if err := rows.Scan(&task, &status, &trigger); err != nil {
			t.Fatal(err)
		}
		out[task] = append(out[task], status+"/"+trigger)
	}
	return out
}

// TestMissedRunAfterRestart: slots that pass while no cron process runs
// are run once, at the next start; offsite tasks without an offsite store
// are recorded as skipped with the reason, and TTL cleanup deletes expired
// rows of ttl.db.
func TestMissedRunAfterRestart(t *testing.T) {
	ctx := context.Background()
	data, ttl := testkit.DataDB(t), testkit.TTLDB(t)
	now := time.Now().Unix()
	if _, err := ttl.Write.Exec(`INSERT INTO sessions (id_hash, user_id, expires_at) VALUES ('old', 1, ?), ('new', 1, ?)`, now-10, now+3600); err != nil {
		t.Fatal(err)
	}
	if _, err := data.Write.Exec(`INSERT INTO processed_jobs (id, kind, done_at) VALUES ('old-job', 'pageview', ?), ('new-job', 'pageview', ?)`, now-31*24*3600, now-29*24*3600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default().Cron
	tasks, err := cron.Table(cfg, cron.Deps{TTL: ttl.Write, Data: data.Write, OffsiteOff: "offsite.bucket is not set"})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)} // Monday noon
	first := &cron.Scheduler{DB: data.Write, Tasks: tasks, Now: clk.Now, Logger: testLogger(t)}
	if err := first.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := runs(t, data.Read); len(got) != 0 {
		t.Fatalf("runs at first start: %v; want none (nothing was missed)", got)
	}
	// Down from Monday noon to Thursday 10:00: three daily slots passed
	// (Tue, Wed, Thu 03:30); the daily task runs once, for the latest.
	clk.t = time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	second := &cron.Scheduler{DB: data.Write, Tasks: tasks, Now: clk.Now, Logger: testLogger(t)}
	if err := second.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	got := runs(t, data.Read)
	if want := []string{"ok/missed"}; len(got["ttl_cleanup"]) != 1 || got["ttl_cleanup"][0] != want[0] {
		t.Errorf("ttl_cleanup runs: %v, want %v", got["ttl_cleanup"], want)
	}
	if len(got["daily"]) != 1 || got["daily"][0] != "skipped/missed" {
		t.Errorf("daily runs: %v, want one skipped/missed", got["daily"])
	}
	if len(got["weekly"]) != 0 || len(got["verify"]) != 0 {
		t.Errorf("weekly or verify ran though no slot passed: %v", got)
	}
	var msg string
	if err := data.Read.QueryRow(`SELECT message FROM cron_runs WHERE task = 'daily'`).Scan(&msg); err != nil || msg != "offsite.bucket is not set" {
		t.Errorf("skip reason %q, %v", msg, err)
	}
	var kept string
	if err := data.Read.QueryRow(`SELECT group_concat(id) FROM processed_jobs`).Scan(&kept); err != nil || kept != "new-job" {
		t.Errorf("processed_jobs after cleanup: %q, %v; want only the job done 29 days ago", kept, err)
	}
	var left []string
	rows, _ := ttl.Read.Query(`SELECT id_hash FROM sessions`)
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		left = append(left, s)
	}
	rows.Close()
	if len(left) != 1 || left[0] != "new" {
		t.Errorf("sessions after cleanup: %v, want [new]", left)
	}
	// Running again in the same hour does nothing more.
	if err := second.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(runs(t, data.Read)["daily"]); n != 1 {
		t.Errorf("daily ran %d times, want 1", n)
	}
}

// TestLease: while one process runs a task, another gets ErrBusy; a lease
// left by a killed process expires and the task runs again, and the run it
// left "running" is marked interrupted.
func TestLease(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dataA := testkit.DataDBIn(t, dir)
	dataB := testkit.DataDBIn(t, dir) // a second process on the same data.db
	started, release := make(chan struct{}), make(chan struct{})
	slow := []cron.Task{{Name: "slow", Schedule: config.Schedule{Off: true}, Run: func(ctx context.Context) (cron.Outcome, error) {
		close(started)
		<-release
		return cron.Outcome{Message: "done"}, nil
	}}}
	a := &cron.Scheduler{DB: dataA.Write, Tasks: slow, Owner: "A", Logger: testLogger(t)}
	b := &cron.Scheduler{DB: dataB.Write, Tasks: slow, Owner: "B", Logger: testLogger(t)}
	for _, s := range []*cron.Scheduler{a, b} {
		if err := s.Open(ctx); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error)
	go func() { _, err := a.RunNow(ctx, "slow"); done <- err }()
	<-started
	if _, err := b.RunNow(ctx, "slow"); !errors.Is(err, cron.ErrBusy) {
		t.Errorf("second process: %v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A process killed mid-run: its lease and its running row stay behind.
	past := time.Now().Add(-time.Minute).UnixMilli()
	if _, err := dataA.Write.Exec(`INSERT INTO cron_leases (name, owner, expires_at) VALUES ('slow', 'killed', ?)`, past); err != nil {
		t.Fatal(err)
	}
	if _, err := dataA.Write.Exec(`INSERT INTO cron_runs (task, trigger, owner, status, started_at) VALUES ('slow', 'schedule', 'killed', 'running', ?)`, past); err != nil {
		t.Fatal(err)
	}
	c := &cron.Scheduler{DB: dataB.Write, Tasks: []cron.Task{{Name: "slow", Schedule: config.Schedule{Off: true},
		Run: func(context.Context) (cron.Outcome, error) { return cron.Outcome{}, nil }}}, Owner: "C", Logger: testLogger(t)}
	if err := c.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunNow(ctx, "slow"); err != nil {
		t.Errorf("after the lease expired: %v", err)
	}
	if got := runs(t, dataA.Read)["slow"]; len(got) != 3 || got[1] != "interrupted/schedule" || got[2] != "ok/manual" {
		t.Errorf("runs of slow: %v", got)
	}
}

// TestFailedSlotIsRetried: a scheduled run that fails (the offsite store
// unreachable) is tried again after each of Retries, its slot kept due
// meanwhile, each failure reported with what comes next; when a retry
// succeeds the slot is done; when every try fails the slot is given up and
// the next slot runs as usual.
func TestFailedSlotIsRetried(t *testing.T) {
	ctx := context.Background()
	data := testkit.DataDB(t)
	down := true
	calls := 0
	daily, err := config.ParseSchedule("03:30", 0, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	task := cron.Task{Name: "daily", Schedule: daily, Run: func(context.Context) (cron.Outcome, error) {
		calls++
		if down {
			return cron.Outcome{}, errors.New("list s3://offsite/daily/: connection refused")
		}
		return cron.Outcome{Message: "copied 3"}, nil
	}}
	var failures []string
	clk := &clock{time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)}
	s := &cron.Scheduler{DB: data.Write, Tasks: []cron.Task{task}, Now: clk.Now, Logger: testLogger(t),
		Retries:   []time.Duration{5 * time.Minute, 30 * time.Minute},
		OnFailure: func(_ context.Context, _ string, err error) { failures = append(failures, err.Error()) }}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	step := func(at time.Time) {
		t.Helper()
		clk.t = at
		if err := s.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }
	step(day(2, 3, 31)) // the slot: fails
	step(day(2, 3, 33)) // its retry is not due
	step(day(2, 3, 37)) // 5 minutes on: the first retry fails
	step(day(2, 4, 0))  // not yet
	step(day(2, 4, 8))  // 30 minutes on: the last try fails; the slot is given up
	step(day(2, 9, 0))  // nothing until the next slot
	if calls != 3 {
		t.Fatalf("%d runs of the failing slot, want 3 (the slot and two retries)", calls)
	}
	for i, want := range []string{"try 1 of 3; again in 5m0s", "try 2 of 3; again in 30m0s", "try 3 of 3: given up until the next scheduled run"} {
		if i >= len(failures) || !strings.Contains(failures[i], want) || !strings.Contains(failures[i], "connection refused") {
			t.Errorf("failure %d = %q, want it to say %q", i+1, failures, want)
		}
	}
	down = false
	step(day(3, 3, 31)) // the next slot catches up
	step(day(3, 3, 45))
	if got := runs(t, data.Read)["daily"]; strings.Join(got, " ") != "failed/schedule failed/missed failed/missed ok/schedule" {
		t.Errorf("daily runs: %v", got)
	}
	// A slot that fails once and then succeeds on its retry is done.
	down = true
	step(day(4, 3, 31))
	down = false
	step(day(4, 3, 37))
	step(day(4, 4, 30))
	if got := runs(t, data.Read)["daily"]; strings.Join(got[4:], " ") != "failed/schedule ok/missed" {
		t.Errorf("daily runs of the 4th: %v, want a failure then its retry ok", got[4:])
	}
}
