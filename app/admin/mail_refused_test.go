package admin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
	"site/app/notify"
	"site/internal/testkit"
)

// TestRefusedMailIsRetriedThenShownDead: an SMTP relay that refuses the
// site's mail fails a sign-in code's notify job for a retry (not at once
// for good: the relay may be fixed), and when its last delivery is refused
// too, the job is in the dead letters and the jobs page shows the relay's
// own reason, where the admin can retry it once mail works.
func TestRefusedMailIsRetriedThenShownDead(t *testing.T) {
	p, owner, b := jobsPanel(t, 0)
	box := testkit.SMTP(t)
	box.Refuse(550, "5.7.1 Relaying denied for site@example.com")
	n := &notify.Notifier{DB: testkit.DataDB(t).Write,
		Mail: &notify.SMTP{Host: box.Host, Port: box.Port, TLS: "none", From: "site@example.com", Timeout: 5 * time.Second}}
	j, err := jobs.NewNotifyJob(jobs.NotifyJob{Email: "reader@example.org", Subject: "Your sign-in code", Text: "Your code is 123456."}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Handle(context.Background(), j); err == nil || jobs.IsPermanent(err) || !strings.Contains(err.Error(), "Relaying denied") {
		t.Fatalf("a refused message: %v; want an error for a retry, with the relay's reason", err)
	}

	// Through the work queue: the deliveries before the last are used up
	// here (the consumer test covers the backoff between them), the last
	// goes to the notifier.
	publishJob(t, b.JetStream, j.Subject, j.ID, string(j.Data))
	cons, err := b.JetStream.Consumer(t.Context(), jobs.StreamJobs, jobs.ConsumerWorker)
	if err != nil {
		t.Fatal(err)
	}
	for range jobs.MaxDeliver - 1 {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			_ = msg.Nak()
		}
	}
	c := jobs.NewConsumer(b.JetStream)
	c.Handlers["notify"] = n.Handle
	c.Logger = quietLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var body string
	testkit.WaitFor(t, 15*time.Second, "the refused mail in the dead letters", func() bool {
		_, body = get(t, owner, p.URL+"/admin/jobs")
		return len(deadSeqs(body)) == 1
	})
	for _, want := range []string{"notify", j.ID, "550", "Relaying denied"} {
		if !strings.Contains(body, want) {
			t.Errorf("the jobs page does not show %q for the refused mail", want)
		}
	}
	if got := box.All(); len(got) != 0 {
		t.Errorf("%d messages delivered by a relay that refuses", len(got))
	}
}
