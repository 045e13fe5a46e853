package natsd_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/embedded/natsd"
	"site/internal/testkit"
)

// inProcessOnly opens no TCP port.
func inProcessOnly(s *natsd.Server) { s.Listen = "" }

// roundTrip checks that a message published on pub arrives on sub.
func roundTrip(tb testing.TB, sub, pub *nats.Conn) {
	tb.Helper()
	s, err := sub.SubscribeSync("t.ping")
	if err != nil {
		tb.Fatalf("subscribe: %v", err)
	}
	defer s.Unsubscribe()
	if err := sub.Flush(); err != nil {
		tb.Fatalf("flush subscriber: %v", err)
	}
	if err := pub.Publish("t.ping", []byte("hello")); err != nil {
		tb.Fatalf("publish: %v", err)
	}
	m, err := s.NextMsg(5 * time.Second)
	if err != nil {
		tb.Fatalf("next msg: %v", err)
	}
	if string(m.Data) != "hello" {
		tb.Fatalf("got %q, want %q", m.Data, "hello")
	}
}

func TestInProcessOnly(t *testing.T) {
	b := testkit.NATS(t, inProcessOnly)
	s := b.Server
	if got := s.Addr(); got != "" {
		t.Errorf("Addr() = %q, want empty with no Listen", got)
	}
	if got := s.URL(); got != "" {
		t.Errorf("URL() = %q, want empty with no Listen", got)
	}
	other, _ := b.Connect(t)
	roundTrip(t, b.Conn, other)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := b.JetStream.AccountInfo(ctx); err != nil {
		t.Fatalf("JetStream not enabled in-process: %v", err)
	}
}

func TestTCPTokenAuth(t *testing.T) {
	b := testkit.NATS(t, func(s *natsd.Server) { s.Listen, s.Token = "127.0.0.1:0", "s3cret" })
	s := b.Server
	addr := s.Addr()
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" || port == "0" || port == "" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:<chosen port>", addr)
	}
	if want := "nats://" + addr; s.URL() != want {
		t.Fatalf("URL() = %q, want %q", s.URL(), want)
	}

	nc, err := nats.Connect(s.URL(), nats.Token("s3cret"))
	if err != nil {
		t.Fatalf("connect with the right token: %v", err)
	}
	defer nc.Close()
	if nc.ConnectedUrl() == "" {
		t.Fatal("not connected over TCP")
	}
	// TCP to TCP, and TCP to in-process.
	roundTrip(t, nc, nc)
	roundTrip(t, b.Conn, nc)

	for name, opts := range map[string][]nats.Option{
		"wrong token":   {nats.Token("guess")},
		"missing token": nil,
	} {
		t.Run(name, func(t *testing.T) {
			opts := append(opts, nats.Timeout(3*time.Second))
			bad, err := nats.Connect(s.URL(), opts...)
			if err == nil {
				bad.Close()
				t.Fatal("connected without the right token")
			}
			if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
				t.Fatalf("err = %v, want authorization violation", err)
			}
		})
	}
}

func TestTCPAnyHostURLIsLoopback(t *testing.T) {
	s := testkit.NATS(t, func(s *natsd.Server) { s.Listen = ":0" }).Server
	if !strings.HasPrefix(s.URL(), "nats://127.0.0.1:") {
		t.Fatalf("URL() = %q, want nats://127.0.0.1:<port> for an unspecified host", s.URL())
	}
	nc, err := nats.Connect(s.URL(), nats.Token(testkit.NATSToken))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	nc.Close()
}

func TestJetStreamSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()

	inDir := func(s *natsd.Server) { s.StoreDir, s.Listen, s.Token = dir, "", "" }
	b := testkit.NATS(t, inDir)
	s, nc, js := b.Server, b.Conn, b.JetStream
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "KEEP", Subjects: []string{"keep.>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	for _, body := range []string{"one", "two", "three"} {
		if _, err := js.Publish(ctx, "keep."+body, []byte(body)); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	nc.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if s.Addr() != "" {
		t.Fatal("Addr() not empty after Close")
	}
	if _, err := s.Connect(); err == nil {
		t.Fatal("Connect after Close succeeded")
	}

	js2 := testkit.NATS(t, inDir).JetStream
	st, err := js2.Stream(ctx, "KEEP")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("messages after restart = %d, want 3", info.State.Msgs)
	}
	m, err := st.GetMsg(ctx, 2)
	if err != nil {
		t.Fatalf("get msg 2: %v", err)
	}
	if m.Subject != "keep.two" || string(m.Data) != "two" {
		t.Fatalf("msg 2 = %s %q, want keep.two \"two\"", m.Subject, m.Data)
	}
}

func TestOpenErrors(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	storeFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(storeFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*natsd.Server{
		"no store dir": {Listen: "", Logger: quiet},
		"bad listen":   {StoreDir: t.TempDir(), Listen: "localhost", Logger: quiet},
		"bad port":     {StoreDir: t.TempDir(), Listen: "127.0.0.1:http-ish", Logger: quiet},
		// JetStream cannot start: Open must not hand out a server without it.
		"store dir is a file": {StoreDir: storeFile, Logger: quiet},
	} {
		t.Run(name, func(t *testing.T) {
			s.ReadyTimeout = time.Second
			if err := s.Open(); err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}

	noToken := natsd.NewServer()
	noToken.StoreDir, noToken.Listen = t.TempDir(), "127.0.0.1:0"
	if err := noToken.Open(); err == nil || !strings.Contains(err.Error(), "needs a Token") {
		noToken.Close()
		t.Errorf("TCP listener without a token: err %v, want a refusal", err)
	}

	var never natsd.Server
	if err := never.Close(); err != nil {
		t.Errorf("Close of an unopened server: %v", err)
	}
	if _, err := never.Connect(); err == nil {
		t.Error("Connect of an unopened server succeeded")
	}
	if never.Addr() != "" || never.URL() != "" {
		t.Error("Addr/URL of an unopened server not empty")
	}
}

func TestCloseTwice(t *testing.T) {
	s := testkit.NATS(t).Server
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The port is released: a client can no longer connect.
	if nc, err := nats.Connect("nats://"+addr, nats.Timeout(time.Second)); err == nil {
		nc.Close()
		t.Fatal("connected to a closed server")
	}
}
