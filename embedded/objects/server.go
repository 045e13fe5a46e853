// Package objects runs an embedded S3-compatible object server on local disk.
//
// It wraps the versitygw gateway (github.com/versity/versitygw/embedgw) with
// its POSIX backend: every bucket is a directory under Server.Root and every
// object a file. Object metadata lives in user extended attributes, or in a
// sidecar directory next to Root when the filesystem has none.
//
// Two properties of versitygw shape this package:
//
//   - versitygw allows one gateway per process (package globals), so only one
//     Server may be open at a time; a second Open returns ErrAlreadyRunning.
//   - the POSIX backend changes the working directory of the whole process to
//     Root and then resolves buckets and objects by relative path. While a
//     Server is open, every other path the process uses must be absolute.
package objects

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Default settings applied by NewServer.
const (
	// DefaultListen is the S3 API address: port 9000 on all interfaces.
	DefaultListen = ":9000"
	// DefaultRegion is the region reported when Region is empty.
	DefaultRegion = "us-east-1"
	// DefaultStartTimeout bounds Open when StartTimeout is not positive.
	DefaultStartTimeout = 30 * time.Second
)

// HealthPath is the unauthenticated path that answers 200 while the server
// runs; it masks a bucket named "healthz".
const HealthPath = "/healthz"

// Attribute keys used in log records.
const (
	logKeyRoot    = "root"
	logKeyAddr    = "addr"
	logKeyMeta    = "metadata"
	logKeyErr     = "err"
	logKeyBucket  = "bucket"
	logKeyAttempt = "attempt"
)

// ErrAlreadyRunning is returned by Open when a Server is already open in this
// process: versitygw supports one gateway per process.
var ErrAlreadyRunning = errors.New("objects: a server is already running in this process (versitygw allows one per process)")

// running guards the one-gateway-per-process rule across all Servers.
var running atomic.Bool

// Server is an embedded S3 server on local disk.
type Server struct {
	// Root is the directory holding the buckets; it is created if missing
	// and made absolute at Open (relative to the working directory then).
	Root string
	// Listen is the "host:port" to listen on; port 0 picks a free port and
	// an empty host listens on all interfaces.
	Listen string
	// AccessKey is the root access key (required).
	AccessKey string
	// SecretKey is the root secret key (required).
	SecretKey string
	// Region is the region reported to clients; "us-east-1" when empty.
	Region string
	// Buckets are created at Open when missing, e.g. public, private, backup.
	Buckets []string
	// PublicBuckets is the subset of Buckets readable anonymously
	// (s3:GetObject only, by bucket policy). The other Buckets get their
	// bucket policy removed at Open: the configuration is authoritative.
	PublicBuckets []string
	// MetaDir is the sidecar metadata directory, used only when user xattrs
	// are unavailable in Root or ForceSidecar is set. It must lie outside
	// Root and must not start with the Root path as a string (versitygw
	// rejects that). Default: "." + base(Root) + ".meta" beside Root.
	MetaDir string
	// ForceSidecar stores metadata in MetaDir even when xattrs work.
	ForceSidecar bool
	// StartTimeout bounds how long Open waits for the server to answer.
	StartTimeout time.Duration
	// Logger receives the server's own log records.
	Logger *slog.Logger

	mu      sync.Mutex
	open    bool
	addr    string
	meta    string
	prevWD  string
	gw      *gateway
	closing atomic.Bool
}

// NewServer returns a Server with defaults: listen on :9000, region
// us-east-1, buckets public, private and backup, with public readable
// anonymously.
func NewServer() *Server {
	return &Server{
		Listen:        DefaultListen,
		Region:        DefaultRegion,
		Buckets:       []string{"public", "private", "backup"},
		PublicBuckets: []string{"public"},
		StartTimeout:  DefaultStartTimeout,
		Logger:        slog.Default(),
	}
}

// Open starts the gateway, waits until it answers on HealthPath, creates the
// missing Buckets and applies the bucket policies. It is idempotent on a
// Root that already holds data. ctx bounds the start only; the server runs
// until Close.
//
// Open changes the working directory of the process to Root (versitygw's
// POSIX backend calls os.Chdir and resolves buckets by relative path), so
// every other path in the process must be absolute while the server is open.
// Open makes Root and MetaDir absolute first; Close restores the previous
// working directory. Open returns ErrAlreadyRunning while another Server is
// open in the process. A gateway that fails after Open is logged, closes
// Done, and its error is returned by Close.
func (s *Server) Open(ctx context.Context) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		return errors.New("objects: server already open")
	}
	if err := s.validate(); err != nil {
		return err
	}
	if !running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer func() {
		if err != nil {
			running.Store(false)
		}
	}()

	// Paths first: after posix.New the working directory is Root.
	root, err := filepath.Abs(s.Root)
	if err != nil {
		return fmt.Errorf("objects: root %q: %w", s.Root, err)
	}
	s.Root = root
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("objects: create root: %w", err)
	}
	if s.MetaDir == "" {
		s.MetaDir = filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+".meta")
	} else if s.MetaDir, err = filepath.Abs(s.MetaDir); err != nil {
		return fmt.Errorf("objects: meta dir %q: %w", s.MetaDir, err)
	}
	if s.prevWD, err = os.Getwd(); err != nil {
		return fmt.Errorf("objects: get working directory: %w", err)
	}
	defer func() {
		if err != nil {
			s.restoreWD()
		}
	}()

	timeout := s.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	ctx, cancelStart := context.WithTimeout(ctx, timeout)
	defer cancelStart()

	s.closing.Store(false)
	if err := s.start(ctx); err != nil {
		return err
	}
	s.open = true
	if err := s.waitHealthy(ctx); err != nil {
		_ = s.stop()
		return err
	}
	if err := s.setupBuckets(ctx); err != nil {
		_ = s.stop()
		return err
	}
	s.logger().Info("objects: server open",
		logKeyAddr, s.addr, logKeyRoot, s.Root, logKeyMeta, s.meta)
	return nil
}

// validate checks the settings that need no filesystem access.
func (s *Server) validate() error {
	switch {
	case s.Root == "":
		return errors.New("objects: root is required")
	case s.AccessKey == "" || s.SecretKey == "":
		return errors.New("objects: access key and secret key are required")
	}
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		return fmt.Errorf("objects: listen %q: %w", s.Listen, err)
	}
	if s.Region == "" {
		s.Region = DefaultRegion
	}
	for _, b := range s.PublicBuckets {
		if !slices.Contains(s.Buckets, b) {
			return fmt.Errorf("objects: public bucket %q is not in buckets", b)
		}
	}
	return nil
}

// Addr returns the host:port the server listens on, with the real port when
// Listen asked for port 0; the host is as given in Listen (empty for all
// interfaces). It is empty before Open.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Endpoint returns "http://" and a reachable host:port of the server, using
// 127.0.0.1 when it listens on all interfaces. It is empty before Open.
func (s *Server) Endpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoint()
}

func (s *Server) endpoint() string {
	if s.addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Metadata returns where object metadata is stored: "xattr" or "sidecar".
// It is empty before Open.
func (s *Server) Metadata() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta
}

// Close stops serving, waits for the gateway goroutine, restores the working
// directory Open found and returns the error the gateway stopped with, if
// any. Close on a server that is not open returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return nil
	}
	return s.stop()
}

// stop cancels the gateway, waits for it and releases the process-wide
// slot. The caller holds s.mu.
func (s *Server) stop() error {
	s.closing.Store(true)
	s.gw.cancel()
	<-s.gw.done
	s.open = false
	s.restoreWD()
	running.Store(false)
	if s.gw.err != nil {
		return fmt.Errorf("objects: gateway: %w", s.gw.err)
	}
	return nil
}

// restoreWD returns the process to the working directory Open found.
func (s *Server) restoreWD() {
	if s.prevWD == "" {
		return
	}
	if err := os.Chdir(s.prevWD); err != nil {
		s.logger().Warn("objects: restore working directory", logKeyErr, err)
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
