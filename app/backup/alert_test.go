package backup_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"site/app/backup"
	"site/app/jobs"
	"site/internal/testkit"
)

// TestAlert publishes a failure as a jobs.alert job on a real JetStream and
// reads back the documented payload.
func TestAlert(t *testing.T) {
	ctx := context.Background()
	js := testkit.NATS(t).JetStream
	if err := jobs.EnsureStreams(ctx, js); err != nil {
		t.Fatal(err)
	}
	pub := jobs.NewPublisher(js)
	pub.Open()
	a := &backup.Alerter{Enqueue: pub.Enqueue, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	a.Raise(ctx, "daily: list s3://offsite/daily/: connection refused")
	if left, err := pub.Close(ctx); err != nil || left != 0 {
		t.Fatalf("publish: %d left, %v", left, err)
	}
	cons, err := js.Consumer(ctx, jobs.StreamJobs, jobs.ConsumerWorker)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject() != jobs.SubjectAlert {
		t.Fatalf("subject %q", msg.Subject())
	}
	var al jobs.AlertJob
	if err := json.Unmarshal(msg.Data(), &al); err != nil {
		t.Fatal(err)
	}
	if al.Source != "backup" || al.Level != "error" || al.Message != "daily: list s3://offsite/daily/: connection refused" || time.Since(al.At) > time.Minute {
		t.Errorf("alert payload %s", msg.Data())
	}
	if id := msg.Headers().Get(jetstream.MsgIDHeader); !strings.HasPrefix(id, "alert-") || len(id) <= len("alert-") {
		t.Errorf("job id %q", id)
	}
}
