package jobs_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
	"site/internal/testkit"
)

var quiet = slog.New(slog.DiscardHandler)

// MustStreams starts a fresh server (testkit.NATS) with the streams created.
func MustStreams(tb testing.TB) (*testkit.Broker, jetstream.JetStream) {
	tb.Helper()
	b := testkit.NATS(tb)
	if err := jobs.EnsureStreams(ctx(tb), b.JetStream); err != nil {
		tb.Fatalf("EnsureStreams: %v", err)
	}
	return b, b.JetStream
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tb.Cleanup(cancel)
	return c
}

// streamMsgs is the number of messages in the stream now.
func streamMsgs(tb testing.TB, js jetstream.JetStream, name string) uint64 {
	tb.Helper()
	st, err := js.Stream(ctx(tb), name)
	if err != nil {
		tb.Fatalf("stream %s: %v", name, err)
	}
	info, err := st.Info(ctx(tb))
	if err != nil {
		tb.Fatalf("stream %s info: %v", name, err)
	}
	return info.State.Msgs
}

// workerInfo is the worker consumer's state now.
func workerInfo(tb testing.TB, js jetstream.JetStream) *jetstream.ConsumerInfo {
	tb.Helper()
	c, err := js.Consumer(ctx(tb), jobs.StreamJobs, jobs.ConsumerWorker)
	if err != nil {
		tb.Fatalf("consumer: %v", err)
	}
	info, err := c.Info(ctx(tb))
	if err != nil {
		tb.Fatalf("consumer info: %v", err)
	}
	return info
}

// publish puts a job on the stream directly, with id as Nats-Msg-Id.
func publish(tb testing.TB, js jetstream.JetStream, subject, id, data string) *jetstream.PubAck {
	tb.Helper()
	msg := &nats.Msg{Subject: subject, Data: []byte(data), Header: nats.Header{}}
	if id != "" {
		msg.Header.Set(jetstream.MsgIDHeader, id)
	}
	ack, err := js.PublishMsg(ctx(tb), msg)
	if err != nil {
		tb.Fatalf("publish %s: %v", subject, err)
	}
	return ack
}
