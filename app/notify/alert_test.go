package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"site/app/jobs"
	"site/app/notify"
	"site/internal/testkit"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func TestAlertsGroupedAndRateLimited(t *testing.T) {
	t.Parallel()
	box := MustSMTP(t)
	db := testkit.DataDB(t)
	clk := &clock{t: time.Date(2026, 1, 5, 3, 30, 0, 0, time.UTC)}
	var live []jobs.AlertJob
	a := &notify.Alerter{Mail: box.sender(), Admins: []string{"ops@example.com", "me@example.com"}, Site: "My site",
		DB: db.Write, Every: 15 * time.Minute, Now: clk.Now, OnAlert: func(al jobs.AlertJob) { live = append(live, al) }}
	ctx := context.Background()
	// The payload the backup engineer publishes, raw.
	raw := func(id, msg string) jobs.Job {
		return jobs.Job{ID: id, Subject: jobs.SubjectAlert,
			Data: []byte(`{"source":"backup","level":"error","message":"` + msg + `","at":"` + clk.t.Format(time.RFC3339) + `"}`)}
	}
	if err := a.Handle(ctx, raw("a1", "daily: list s3://x: timeout")); err != nil {
		t.Fatal(err)
	}
	if n := len(box.all()); n != 1 {
		t.Fatalf("%d mails after the first alert, want 1 (sent at once)", n)
	}
	for i, msg := range []string{"daily: list s3://x: timeout", "daily: list s3://x: timeout", "verify: tier 1-week differs"} {
		clk.t = clk.t.Add(time.Minute)
		if err := a.Handle(ctx, raw("a"+string(rune('2'+i)), msg)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Handle(ctx, raw("a2", "daily: list s3://x: timeout")); err != nil { // a redelivery
		t.Fatal(err)
	}
	if n := len(box.all()); n != 1 {
		t.Fatalf("%d mails within the quiet period, want still 1", n)
	}
	clk.t = clk.t.Add(15 * time.Minute)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := box.all()
	if len(msgs) != 2 {
		t.Fatalf("%d mails after the quiet period, want 2", len(msgs))
	}
	d := msgs[1].Data
	if len(msgs[1].To) != 2 || !strings.Contains(d, "3 alerts in 2 groups") || !strings.Contains(d, "backup error =C3=972 (first 2026-01-05T03:30:00Z") {
		t.Errorf("digest to %v:\n%s", msgs[1].To, d)
	}
	if len(live) != 4 {
		t.Errorf("%d live alerts, want 4 (the redelivery is not new)", len(live))
	}
	var groups, total int
	db.Read.QueryRow("SELECT count(*), sum(count) FROM alerts").Scan(&groups, &total)
	if groups != 2 || total != 4 {
		t.Errorf("alerts table: %d groups, %d alerts; want 2, 4", groups, total)
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Hour)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(box.all()); n != 2 {
		t.Errorf("%d mails with nothing new, want still 2", n)
	}
}
