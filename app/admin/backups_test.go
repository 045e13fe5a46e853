package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"site/app/backup"
	"site/app/config"
	"site/app/cron"
	"site/internal/testkit"
)

// postForm posts form and returns the status and body.
func postForm(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBackupsNoCronRole: with no cron role on NATS the page still shows
// what data.db recorded (the replica's last check, a tier's verify), says
// the cron role did not answer, and "run now" says nothing was started;
// the attempt is audited.
func TestBackupsNoCronRole(t *testing.T) {
	p := newPanel(t)
	b := testkit.NATS(t)
	p.admin.NC, p.admin.JS = b.Conn, b.JetStream
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	owner := p.client(t, "owner@example.org")
	at := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	for _, v := range []backup.VerifyResult{
		{Tier: backup.TierReplica, OK: true, Message: "restored; 12 tables match", Started: at, Finish: at},
		{Tier: backup.TierDaily, OK: false, Message: "integrity_check: page 3 bad", Started: at, Finish: at},
	} {
		if err := backup.RecordVerify(t.Context(), p.admin.Data.Write, v); err != nil {
			t.Fatal(err)
		}
	}
	code, body := get(t, owner, p.URL+"/admin/backups")
	for _, want := range []string{"The cron role did not answer", "restored; 12 tables match", "integrity_check: page 3 bad", "2026-03-01 04:00:00 UTC", "FAILED", "never"} {
		if !strings.Contains(body, want) {
			t.Errorf("backups page lacks %q", want)
		}
	}
	if code != 200 {
		t.Errorf("backups page: %d", code)
	}
	code, body = postForm(t, owner, p.URL+"/admin/backups/run", url.Values{"task": {config.TaskDaily}})
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "Nothing was started: no cron role answered within 5s") {
		t.Errorf("run now without cron: %d\n%s", code, body)
	}
	if code, _ = postForm(t, owner, p.URL+"/admin/backups/run", url.Values{"task": {"ttl_cleanup"}}); code != http.StatusBadRequest {
		t.Errorf("run now of a task not offered: %d", code)
	}
	if _, body = get(t, owner, p.URL+"/admin/audit"); !strings.Contains(body, "backup.run") || !strings.Contains(body, "no answer") {
		t.Errorf("run now not audited:\n%s", body)
	}
}

// TestBackupsRunNow: a cron role answering over NATS (the real responder
// and scheduler, with a task that waits) starts a run at once; asked again
// while it runs, the page says it is running already; once done, the page
// shows the run with its outcome and the cron role's schedule.
func TestBackupsRunNow(t *testing.T) {
	p := newPanel(t)
	b := testkit.NATS(t)
	p.admin.NC, p.admin.JS = b.Conn, b.JetStream
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	owner := p.client(t, "owner@example.org")

	release := make(chan struct{})
	run := func(ctx context.Context) (cron.Outcome, error) {
		select {
		case <-release:
			return cron.Outcome{Message: "4 objects, 1.2 kB copied", Stats: backup.Stats{Copied: 4, Bytes: 1200}}, nil
		case <-ctx.Done():
			return cron.Outcome{}, ctx.Err()
		}
	}
	var tasks []cron.Task
	for _, name := range cron.RunnableNow {
		tasks = append(tasks, cron.Task{Name: name, Schedule: config.Schedule{Hour: 3, Minute: 30}, Run: run})
	}
	// The cron role's process: its own connection to the same NATS.
	nc, _ := b.Connect(t)
	s := &cron.Scheduler{DB: p.admin.Data.Write, Tasks: tasks, Logger: quietLogger()}
	if err := s.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); (&cron.Responder{NC: nc, Scheduler: s, Logger: quietLogger()}).Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	testkit.WaitFor(t, 10*time.Second, "the cron role to answer", func() bool {
		_, err := cron.AskStatus(t.Context(), b.Conn)
		return err == nil
	})

	code, body := postForm(t, owner, p.URL+"/admin/backups/run", url.Values{"task": {config.TaskDaily}})
	if code != 200 || !strings.Contains(body, "Daily copy (daily/) started (run ") {
		t.Fatalf("run now: %d\n%s", code, body)
	}
	if !strings.Contains(body, "<strong>running</strong> (manual)") {
		t.Errorf("page after run now does not show the run in progress:\n%s", body)
	}
	code, body = postForm(t, owner, p.URL+"/admin/backups/run", url.Values{"task": {config.TaskDaily}})
	if code != http.StatusConflict || !strings.Contains(body, "is already running") {
		t.Errorf("run now again: %d\n%s", code, body)
	}
	close(release)
	testkit.WaitFor(t, 10*time.Second, "the run to finish", func() bool {
		_, body = get(t, owner, p.URL+"/admin/backups")
		return strings.Contains(body, "<strong>ok</strong> (manual)")
	})
	for _, want := range []string{"4 objects, 1.2 kB copied", "daily 03:30", "The cron role answers"} {
		if !strings.Contains(body, want) {
			t.Errorf("backups page lacks %q", want)
		}
	}
	if _, body = get(t, owner, p.URL+"/admin/audit"); !strings.Contains(body, "backup.run") || !strings.Contains(body, "started run") || !strings.Contains(body, "busy") {
		t.Errorf("run now not audited:\n%s", body)
	}
}
