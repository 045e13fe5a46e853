// Package natsd runs an embedded NATS server with JetStream: in-process only
// when every role is local, or on a TCP port with token auth when roles run
// in other processes.
package natsd

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Server is an embedded NATS server with JetStream on file storage.
type Server struct {
	// StoreDir is the absolute directory of JetStream's file store.
	StoreDir string
	// Listen is the TCP address clients in other processes dial; empty opens
	// no port, so only in-process connections reach the server.
	Listen string
	// Token is the secret TCP and in-process clients present.
	Token string
	// Name identifies the server in logs and monitoring.
	Name string
	// ReadyTimeout bounds how long Open waits for the server to be ready.
	ReadyTimeout time.Duration
	// Logger receives the server's log lines.
	Logger *slog.Logger
	// ResumeFree is the free space StoreDir's filesystem must have again,
	// after a write failed for want of it, before JetStream is reloaded;
	// default 64 MiB.
	ResumeFree int64

	ns   *server.Server
	logs *logAdapter
	stop chan struct{}
	done chan struct{}
}

// NewServer returns a Server with defaults set.
func NewServer() *Server {
	return &Server{Name: "site", ReadyTimeout: 10 * time.Second, Logger: slog.Default()}
}

// Open starts the server and waits until it accepts connections.
func (s *Server) Open() error {
	if s.StoreDir == "" {
		return errors.New("natsd: StoreDir is required")
	}
	opts := &server.Options{
		ServerName:         s.Name,
		JetStream:          true,
		StoreDir:           s.StoreDir,
		Authorization:      s.Token,
		NoSigs:             true,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 256 << 20,
	}
	if s.Listen != "" && s.Token == "" {
		return errors.New("natsd: a TCP listener needs a Token")
	}
	if s.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(s.Listen)
		if err != nil {
			return fmt.Errorf("natsd: listen %q: %w", s.Listen, err)
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			return fmt.Errorf("natsd: listen %q: bad port", s.Listen)
		}
		if n == 0 {
			n = server.RANDOM_PORT
		}
		if host == "" {
			host = "0.0.0.0"
		}
		opts.Host, opts.Port = host, n
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("natsd: new server: %w", err)
	}
	logs := &logAdapter{l: s.Logger}
	s.logs = logs
	ns.SetLoggerV2(logs, false, false, false)
	// Start returns once the server is set up; a JetStream that could not
	// start (a bad StoreDir) is only logged through Fatalf, so check it.
	ns.Start()
	if !ns.ReadyForConnections(s.ReadyTimeout) {
		ns.Shutdown()
		return fmt.Errorf("natsd: not ready after %s", s.ReadyTimeout)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		if f := logs.fatal.Load(); f != nil {
			return fmt.Errorf("natsd: jetstream: %s", *f)
		}
		return errors.New("natsd: jetstream did not start")
	}
	s.ns = ns
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.watchWrites()
	return nil
}

// watchWrites reloads JetStream once disk space is back after a write
// failed. JetStream's file store keeps a failed write's error and refuses
// every later write to that stream until it is loaded again, so without
// this a full disk, even once freed, would leave the job queue refusing
// work until a restart.
func (s *Server) watchWrites() {
	defer close(s.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		if !s.logs.writeFailed.Load() {
			continue
		}
		free, err := freeBytes(s.StoreDir)
		if err != nil || free < cmp.Or(s.ResumeFree, 64<<20) {
			continue
		}
		s.logs.writeFailed.Store(false)
		s.Logger.Warn("natsd: disk space is back after a failed write; reloading JetStream's streams", "free_bytes", free)
		if err := s.ns.DisableJetStream(); err != nil {
			s.Logger.Error("natsd: reload JetStream: disable", "err", err)
		}
		if err := s.ns.EnableJetStream(&server.JetStreamConfig{StoreDir: s.StoreDir, MaxMemory: 256 << 20}); err != nil {
			s.Logger.Error("natsd: reload JetStream: enable; restart the nats role", "err", err)
		}
	}
}

// freeBytes is the space left to unprivileged writers on dir's filesystem.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// Addr is the TCP address the server listens on, or "" when it opened none.
func (s *Server) Addr() string {
	if s.ns == nil || s.Listen == "" {
		return ""
	}
	if a, ok := s.ns.Addr().(*net.TCPAddr); ok {
		return a.String()
	}
	return ""
}

// URL is a nats:// URL a local client can dial, or "" when no port is open.
func (s *Server) URL() string {
	addr := s.Addr()
	if addr == "" {
		return ""
	}
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, port)
}

// Connect opens an in-process client connection (no socket involved).
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	if s.ns == nil {
		return nil, errors.New("natsd: not open")
	}
	all := append([]nats.Option{nats.InProcessServer(s.ns), nats.Token(s.Token), nats.Name("site-inprocess")}, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("natsd: connect in-process: %w", err)
	}
	return nc, nil
}

// Close shuts the server down and waits until it has stopped.
func (s *Server) Close() error {
	if s.ns == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.ns = nil
	return nil
}

// logAdapter sends the server's log lines to slog, keeps the last fatal
// one, and notes a failed write to the file store.
type logAdapter struct {
	l           *slog.Logger
	fatal       atomic.Pointer[string]
	writeFailed atomic.Bool
}

func (a *logAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	a.fatal.Store(&msg)
	a.l.Error(msg)
}
func (a *logAdapter) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "Critical write error") {
		a.writeFailed.Store(true)
	}
	a.l.Error(msg)
}
func (a *logAdapter) Debugf(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *logAdapter) Tracef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
