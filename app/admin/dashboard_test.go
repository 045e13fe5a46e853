package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"site/app/admin"
	"site/app/analytics"
	"site/app/config"
	"site/app/cron"
	"site/app/jobs"
	"site/app/live"
	"site/internal/testkit"
	"site/views"
)

// figureRE finds an element's id and data-value in the dashboard's HTML.
var figureRE = regexp.MustCompile(`id="(dash-[a-z-]+)" data-value="([^"]*)"`)

// dashboardFigures reads the page's figures (id → data-value) and the
// root's data attributes.
func dashboardFigures(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range figureRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	for _, name := range []string{"mark", "seq", "day", "stream"} {
		if m := regexp.MustCompile(`data-` + name + `="([^"]*)"`).FindStringSubmatch(body); m != nil {
			out[name] = m[1]
		}
	}
	return out
}

// TestDashboardFigures: the dashboard renders today's page views and
// visitors from the rollups with the page-view log's mark they count up to
// (read together), the most viewed pages of this hour and the last, the
// latest alerts, and no live stream when the process has no hub.
func TestDashboardFigures(t *testing.T) {
	now := time.Date(2026, 6, 2, 14, 20, 0, 0, time.UTC)
	p := newPanel(t, func(a *admin.Admin) { a.Now = func() time.Time { return now } })
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	owner := p.client(t, "owner@example.org")
	// Page views stored by the worker's recorder: yesterday, two hours
	// ago, the last hour and this one.
	rec := &analytics.Recorder{DB: p.admin.Data.Write, Site: "test", Now: func() time.Time { return now }}
	view := func(path, ip string, at time.Time) analytics.PageView {
		return analytics.PageView{Path: path, IP: ip, At: at, UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
	}
	batches := [][]analytics.PageView{
		{view("/old", "192.0.2.1", now.Add(-24*time.Hour))},
		{view("/posts/b", "192.0.2.1", now.Add(-2*time.Hour)), view("/posts/b", "192.0.2.1", now.Add(-2*time.Hour))},
		{view("/posts/a", "192.0.2.2", now.Add(-50*time.Minute)), view("/posts/a", "192.0.2.3", now.Add(-10*time.Minute)),
			view("/posts/c", "192.0.2.2", now.Add(-5*time.Minute))},
	}
	for i, b := range batches {
		j := analytics.NewBatchJob(b)
		j.ID = fmt.Sprintf("batch-%d", i)
		if err := rec.HandleBatch(t.Context(), []jobs.Job{j}); err != nil {
			t.Fatal(err)
		}
	}
	for i, al := range []struct {
		source, level, message string
		at                     time.Time
	}{{"backup", "error", "daily: no answer", now.Add(-3 * time.Hour)}, {"worker", "warning", "slow batch", now.Add(-time.Minute)}} {
		if _, err := p.admin.Data.Write.Exec(`INSERT INTO alerts (source, level, message, count, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)`,
			al.source, al.level, al.message, i+1, al.at.Unix(), al.at.Unix()); err != nil {
			t.Fatal(err)
		}
	}
	code, body := get(t, owner, p.URL+"/admin")
	if code != 200 {
		t.Fatalf("dashboard: %d\n%s", code, body)
	}
	f := dashboardFigures(t, body)
	var mark string
	if err := p.admin.Data.Read.QueryRow(`SELECT max(id) FROM page_view_batches`).Scan(&mark); err != nil {
		t.Fatal(err)
	}
	// Today: 5 views (two hours ago and since); visitors .1 (counted on
	// 2026-06-02 first at 12:20), .2 and .3.
	for key, want := range map[string]string{"dash-views-today": "5", "dash-visitors-today": "3", "mark": mark,
		"day": "2026-06-02", "dash-readers": "0", "stream": ""} {
		if f[key] != want {
			t.Errorf("%s = %q, want %q", key, f[key], want)
		}
	}
	// Since 13:00: /posts/a twice, /posts/c once; /posts/b was at 12:20.
	top := regexp.MustCompile(`data-path="([^"]+)" data-views="(\d+)"`).FindAllStringSubmatch(body, -1)
	if len(top) != 2 || top[0][1] != "/posts/a" || top[0][2] != "2" || top[1][1] != "/posts/c" || top[1][2] != "1" {
		t.Errorf("top pages since 13:00: %v", top)
	}
	if !strings.Contains(body, "Since 13:00 UTC") {
		t.Error("the top pages do not say since when")
	}
	if i, j := strings.Index(body, "slow batch"), strings.Index(body, "daily: no answer"); i < 0 || j < 0 || i > j {
		t.Errorf("alerts not listed newest first (%d, %d)", i, j)
	}
	if strings.Contains(body, "admin-dashboard") || !strings.Contains(body, "Live updates are off in this process") {
		t.Error("without a hub the page should load no script and say live updates are off")
	}
	if !strings.Contains(body, "This process has no connection to NATS") {
		t.Error("the queue's figures do not say why they are missing")
	}
}

// TestDashboardStatus: the status sampler's figures, as the dashboard's
// stream carries them — the work queue and its dead letters, the backup
// runs and the replica's lag reported by a cron role over NATS, and this
// process (CPU, memory, streams) — and the readers now in the stream's
// first events.
func TestDashboardStatus(t *testing.T) {
	b := testkit.NATS(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := jobs.EnsureStreams(ctx, b.JetStream); err != nil {
		t.Fatal(err)
	}
	hub, err := live.New(live.Config{NC: b.Conn, JS: b.JetStream, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	p := newPanel(t, func(a *admin.Admin) { a.NC, a.JS, a.Live = b.Conn, b.JetStream, hub })
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	owner := p.client(t, "owner@example.org")

	// Two jobs no worker takes, one dead letter.
	for i := range 2 {
		j, err := jobs.NewNotifyJob(jobs.NotifyJob{Email: "a@example.org", Subject: "s", Text: "t"}, fmt.Sprintf("n%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Publish(ctx, b.JetStream, j); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.JetStream.Publish(ctx, jobs.DeadPrefix+jobs.SubjectNotify, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	// A cron role with one daily run done, and Litestream 3 transactions
	// behind.
	synced := time.Date(2026, 6, 2, 14, 0, 0, 0, time.UTC)
	var tasks []cron.Task
	for _, name := range cron.RunnableNow {
		tasks = append(tasks, cron.Task{Name: name, Schedule: config.Schedule{Hour: 3, Minute: 30},
			Run: func(context.Context) (cron.Outcome, error) { return cron.Outcome{Message: "done"}, nil }})
	}
	sched := &cron.Scheduler{DB: p.admin.Data.Write, Tasks: tasks, Logger: quietLogger()}
	if err := sched.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sched.RunNow(ctx, config.TaskDaily); err != nil {
		t.Fatal(err)
	}
	cronNC, _ := b.Connect(t)
	rctx, stopCron := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&cron.Responder{NC: cronNC, Scheduler: sched, Logger: quietLogger(),
			Position: func() (cron.ReplicaPosition, error) {
				return cron.ReplicaPosition{LocalTXID: 40, ReplicaTXID: 37, LastSync: synced}, nil
			}}).Run(rctx)
	}()
	t.Cleanup(func() { stopCron(); <-done })
	testkit.WaitFor(t, 10*time.Second, "the cron role to answer", func() bool {
		_, err := cron.AskStatus(t.Context(), b.Conn)
		return err == nil
	})

	// Some CPU for the sampler to see, then the sampler.
	deadline := time.Now().Add(100 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = fmt.Sprint(x)
	}
	sctx, stopSampler := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() { defer close(sampled); p.admin.RunStatus(sctx) }()
	t.Cleanup(func() { stopSampler(); <-sampled })

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/admin/live", nil)
	resp, err := owner.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	next := func(name string) []byte {
		t.Helper()
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok && event == name {
				return []byte(v)
			}
		}
		t.Fatalf("the stream ended before a %s event: %v", name, sc.Err())
		return nil
	}
	var readers struct{ Total int }
	if err := json.Unmarshal(next(live.TopicReaders), &readers); err != nil || readers.Total != 0 {
		t.Errorf("readers %+v (%v), want a total of 0", readers, err)
	}
	var st views.DashboardStatus
	if err := json.Unmarshal(next(admin.TopicStatus), &st); err != nil {
		t.Fatal(err)
	}
	if q := st.Queue; q.Problem != "" || q.Jobs != 2 || q.Waiting != 2 || q.InHand != 0 || q.Dead != 1 {
		t.Errorf("queue %+v, want 2 jobs waiting and 1 dead letter", q)
	}
	bk := st.Backups
	if !bk.CronAnswered || bk.Replica == nil || bk.Replica.Lag != 3 || !bk.Replica.LastSync.Equal(synced) {
		t.Errorf("backups %+v (replica %+v), want the cron role's answer with a lag of 3", bk, bk.Replica)
	}
	var daily *views.DashboardBackupTask
	for i := range bk.Tasks {
		if strings.HasPrefix(bk.Tasks[i].Label, "Daily") {
			daily = &bk.Tasks[i]
		}
	}
	if daily == nil || daily.Status != cron.StatusOK || daily.Finished.IsZero() {
		t.Errorf("daily backup %+v, want its run ok", daily)
	}
	pr := st.Process
	if pr.CPU <= 0 || pr.RSS < 1<<20 || pr.Heap == 0 || pr.Heap > pr.RSS || pr.Goroutines < 2 || pr.Streams != 1 {
		t.Errorf("process %+v: want CPU used, a resident size of at least 1 MiB above the heap, and this one stream", pr)
	}
	// Each status comes again from the sampler, a few seconds apart.
	var again views.DashboardStatus
	if err := json.Unmarshal(next(admin.TopicStatus), &again); err != nil {
		t.Fatal(err)
	}
	if !again.At.After(st.At) {
		t.Errorf("the next status is as of %s, not after %s", again.At, st.At)
	}
}
