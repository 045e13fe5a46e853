package jobs_test

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
	"site/embedded/natsd"
)

var quiet = slog.New(slog.DiscardHandler)

// MustServer opens an embedded NATS server on dir (a fresh temp dir when
// empty), listening on listen ("" for in-process only); closed at cleanup.
func MustServer(tb testing.TB, dir, listen string) *natsd.Server {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	s := natsd.NewServer()
	s.StoreDir, s.Listen, s.Token, s.Logger = dir, listen, "tok", quiet
	if err := s.Open(); err != nil {
		tb.Fatalf("open natsd: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustJetStream connects in-process to s; the connection closes at cleanup.
func MustJetStream(tb testing.TB, s *natsd.Server) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := s.Connect()
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// MustStreams starts a fresh in-process server with the streams created.
func MustStreams(tb testing.TB) (*natsd.Server, jetstream.JetStream) {
	tb.Helper()
	s := MustServer(tb, "", "")
	_, js := MustJetStream(tb, s)
	if err := jobs.EnsureStreams(ctx(tb), js); err != nil {
		tb.Fatalf("EnsureStreams: %v", err)
	}
	return s, js
}

// MustFreePort returns a loopback address whose port was free a moment ago.
func MustFreePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
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

// waitFor polls cond until it holds, failing the test after d.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
