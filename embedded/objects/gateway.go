package objects

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
	"github.com/versity/versitygw/s3api"
	"golang.org/x/sys/unix"
)

// Metadata stores reported by Server.Metadata.
const (
	// MetaXattr stores metadata in user extended attributes of the files.
	MetaXattr = "xattr"
	// MetaSidecar stores metadata as files under Server.MetaDir.
	MetaSidecar = "sidecar"
)

// Gateway limits. embedgw rejects zero values for the first three; a zero
// CopyObjectThreshold makes every CopyObject fail.
const (
	maxConnections      = 250000
	maxRequests         = 100000
	multipartMaxParts   = 10000
	copyObjectThreshold = 5 << 30 // 5 GiB, the S3 limit

	// bindAttempts bounds the retries when a port picked for Listen ":0"
	// is taken by someone else before the gateway binds it.
	bindAttempts = 5
	// xattrProbe is set and removed on Root to learn whether the
	// filesystem keeps user extended attributes.
	xattrProbe = "user.site.objects.probe"
)

// gateway is one run of embedgw.RunVersityGW.
type gateway struct {
	cancel  context.CancelFunc
	done    chan struct{} // closed when RunVersityGW has returned
	err     error         // what it returned; read only after done
	started atomic.Bool   // it listened: later errors are failures to log
}

// start chooses the metadata store and runs the gateway until it listens.
//
// embedgw takes addresses, not a net.Listener, and reports the bound
// address nowhere (its OnListen hook carries no data). For port 0, start
// therefore reserves a free port by listening on it and closing it, passes
// that concrete port, and retries with a new one when the gateway then
// fails with EADDRINUSE. A gateway that reports it listens owns the port.
func (s *Server) start(ctx context.Context) error {
	ms, mode, err := s.metadataStore()
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(s.Listen)
	pick := port == "0"
	for attempt := 1; ; attempt++ {
		listen := s.Listen
		if pick {
			p, err := freePort(host)
			if err != nil {
				return fmt.Errorf("objects: pick port: %w", err)
			}
			listen = net.JoinHostPort(host, p)
		}
		gw, err := s.launch(ctx, listen, ms)
		if err == nil {
			s.gw, s.addr, s.meta = gw, listen, mode
			return nil
		}
		if pick && attempt < bindAttempts && errors.Is(err, syscall.EADDRINUSE) {
			s.logger().Warn("objects: picked port taken, retrying",
				logKeyAddr, listen, logKeyAttempt, attempt)
			continue
		}
		return err
	}
}

// launch builds the POSIX backend and runs the gateway on listen in its own
// goroutine, returning once it listens or has failed.
//
// PosixOpts.SideCarDir is left empty even with sidecar metadata: posix.New
// only validates it (metadataStore does the same check) and prints it to
// stdout; the store itself is ms.
func (s *Server) launch(ctx context.Context, listen string, ms meta.MetadataStorer) (*gateway, error) {
	// posix.New changes the process's working directory to Root.
	be, err := posix.New(s.Root, ms, posix.PosixOpts{
		CopyObjectThreshold: copyObjectThreshold,
	})
	if err != nil {
		return nil, fmt.Errorf("objects: posix backend: %w", err)
	}
	listening := make(chan struct{})
	var once sync.Once
	cfg := &embedgw.Config{
		RootUserAccess:    s.AccessKey,
		RootUserSecret:    s.SecretKey,
		Region:            s.Region,
		Ports:             []string{listen},
		MaxConnections:    maxConnections,
		MaxRequests:       maxRequests,
		MultipartMaxParts: multipartMaxParts,
		HealthPath:        HealthPath,
		Quiet:             true, // no banner, no per-request lines on stdout
		KeepAlive:         true,
		// Single-account mode, built here because auth.New announces it on
		// stdout.
		IAMService: auth.NewIAMServiceSingle(auth.Account{
			Access: s.AccessKey,
			Secret: s.SecretKey,
			Role:   auth.RoleAdmin,
		}),
		S3Options: []s3api.Option{
			s3api.WithOnListen(func() { once.Do(func() { close(listening) }) }),
		},
	}
	runCtx, cancel := context.WithCancel(context.Background())
	gw := &gateway{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(gw.done)
		gw.err = embedgw.RunVersityGW(runCtx, be, cfg)
		if gw.err != nil && gw.started.Load() && !s.closing.Load() {
			s.logger().Error("objects: gateway stopped", logKeyAddr, listen, logKeyErr, gw.err)
		}
	}()
	select {
	case <-listening:
		gw.started.Store(true)
		return gw, nil
	case <-gw.done:
		cancel()
		be.Shutdown() // RunVersityGW skips it when it fails before serving
		if gw.err == nil {
			gw.err = errors.New("stopped before listening")
		}
		return nil, fmt.Errorf("objects: start gateway on %s: %w", listen, gw.err)
	case <-ctx.Done():
		cancel()
		<-gw.done
		return nil, fmt.Errorf("objects: start gateway on %s: %w", listen, ctx.Err())
	}
}

// waitHealthy polls HealthPath until it answers 200.
func (s *Server) waitHealthy(ctx context.Context) error {
	url := s.endpoint() + HealthPath
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   2 * time.Second,
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("objects: health request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("objects: wait for %s: %w (last: %v)", url, ctx.Err(), err)
		case <-s.gw.done:
			return fmt.Errorf("objects: gateway stopped while starting: %w", s.gw.err)
		case <-tick.C:
		}
	}
}

// metadataStore picks xattrs when Root keeps user extended attributes, and
// the sidecar directory MetaDir when it does not, when ForceSidecar is set,
// or when MetaDir already holds data (metadata must stay where it was
// written).
func (s *Server) metadataStore() (meta.MetadataStorer, string, error) {
	reason := ""
	switch {
	case s.ForceSidecar:
		reason = "forced"
	case hasEntries(s.MetaDir):
		reason = "sidecar directory holds data"
	default:
		err := probeXattr(s.Root)
		if err == nil {
			return meta.XattrMeta{}, MetaXattr, nil
		}
		reason = "no user xattrs: " + err.Error()
	}
	// posix.New rejects a sidecar path that merely starts with Root.
	if strings.HasPrefix(s.MetaDir, s.Root) {
		return nil, "", fmt.Errorf("objects: meta dir %s must not start with root %s", s.MetaDir, s.Root)
	}
	if err := os.MkdirAll(s.MetaDir, 0o755); err != nil {
		return nil, "", fmt.Errorf("objects: create meta dir: %w", err)
	}
	sc, err := meta.NewSideCar(s.MetaDir)
	if err != nil {
		return nil, "", fmt.Errorf("objects: sidecar metadata: %w", err)
	}
	s.logger().Info("objects: using sidecar metadata", logKeyMeta, s.MetaDir, "reason", reason)
	return sc, MetaSidecar, nil
}

// probeXattr sets and removes a user xattr on dir.
func probeXattr(dir string) error {
	if err := unix.Setxattr(dir, xattrProbe, []byte("1"), 0); err != nil {
		return fmt.Errorf("set xattr on %s: %w", dir, err)
	}
	if err := unix.Removexattr(dir, xattrProbe); err != nil {
		return fmt.Errorf("remove xattr on %s: %w", dir, err)
	}
	return nil
}

// hasEntries reports whether dir exists and is not empty.
func hasEntries(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) > 0
}

// freePort returns a port that was free on host a moment ago.
func freePort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}
