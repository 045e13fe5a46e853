package testkit

import (
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/embedded/natsd"
)

// NATSToken is the token the servers started by NATS require, over TCP and
// in process alike.
const NATSToken = "testkit-token"

// Broker is a running embedded NATS server with JetStream and an in-process
// client connection to it.
type Broker struct {
	// Server is the running server.
	Server *natsd.Server
	// Conn is an in-process connection to Server.
	Conn *nats.Conn
	// JetStream is the JetStream context on Conn.
	JetStream jetstream.JetStream
}

// NATS starts an embedded NATS server with JetStream, its file store in a
// fresh tb.TempDir(), listening on a loopback port the system picks and
// requiring NATSToken, with an in-process connection; all of it closes at
// cleanup. Each configure func may change the server before it opens (a
// StoreDir to reopen, Listen "" for no TCP port, a fixed address).
func NATS(tb testing.TB, configure ...func(*natsd.Server)) *Broker {
	tb.Helper()
	s := natsd.NewServer()
	s.StoreDir, s.Listen, s.Token = tb.TempDir(), "127.0.0.1:0", NATSToken
	s.Logger = slog.New(slog.DiscardHandler)
	for _, f := range configure {
		f(s)
	}
	if err := s.Open(); err != nil {
		tb.Fatalf("open nats server: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	b := &Broker{Server: s}
	b.Conn, b.JetStream = b.Connect(tb)
	return b
}

// URL is the nats:// address a client in another process dials, with
// NATSToken; "" when the server opened no TCP port.
func (b *Broker) URL() string { return b.Server.URL() }

// Connect opens another in-process connection to the server, and its
// JetStream context; the connection closes at cleanup.
func (b *Broker) Connect(tb testing.TB) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := b.Server.Connect()
	if err != nil {
		tb.Fatalf("connect to nats: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}
	return nc, js
}
