// Package web is the web role: the site's HTTP server, its routes and
// middleware, and the health, readiness and metrics endpoints.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/analytics"
	"site/app/content"
	"site/assets"
)

// Server is the site's HTTP server.
type Server struct {
	// Listen is the address to listen on; port 0 picks a free port.
	Listen string
	// SiteName is shown in page titles and headers.
	SiteName string
	// Description, Author and Language describe the site in pages and feeds.
	Description, Author, Language string
	// BaseURL is the public URL of the site, for canonical links.
	BaseURL string
	// Content is the site's writing; nil serves an empty site.
	Content *content.Store
	// Objects reads the public bucket for /media/; nil answers 404 there.
	Objects *minio.Client
	// PublicBucket names the bucket served under /media/.
	PublicBucket string
	// CacheCheck is how often the page cache reads the content version to
	// notice changes made by other processes.
	CacheCheck time.Duration
	// Checks decide /readyz: every one must pass.
	Checks []Check
	// Views receives the page view of each page served, for the
	// jobs.pageview batches; nil disables tracking.
	Views *analytics.Batcher
	// Logger receives request logs and internal errors.
	Logger *slog.Logger
	// SecurityTxt is served at /.well-known/security.txt (RFC 9116) when
	// not empty; the route answers 404 otherwise.
	SecurityTxt string
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// a request's headers, the whole request, its response (counted from
	// the end of the request's headers) and a keep-alive connection's
	// wait for the next request; zero means the Default of each. A handler
	// that streams for longer lifts them with liftDeadlines.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration

	ln           net.Listener
	srv          *http.Server
	routeMetrics routeMetrics
	cache        *pageCache
	once         sync.Once
}

// NewServer returns a Server with defaults set.
func NewServer() *Server {
	return &Server{Listen: ":8080", SiteName: "site", Language: "en", PublicBucket: "public",
		CacheCheck: time.Second, Logger: slog.Default(),
		ReadHeaderTimeout: DefaultReadHeaderTimeout, ReadTimeout: DefaultReadTimeout,
		WriteTimeout: DefaultWriteTimeout, IdleTimeout: DefaultIdleTimeout}
}

// Bind takes the listening socket on Listen without serving, so the
// address a port 0 picked is known (Addr) before any handler can run: a
// BaseURL derived from it is set between Bind and Open, never while
// requests read it. Open binds when Bind was not called.
func (s *Server) Bind() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", s.Listen, err)
	}
	s.ln = ln
	return nil
}

// Open binds (when Bind was not called) and starts serving. The Server's
// fields must not change after Open.
func (s *Server) Open() error {
	if err := s.Bind(); err != nil {
		return err
	}
	s.srv = s.httpServer(s.Handler())
	go func() {
		if err := s.srv.Serve(coalescingListener{s.ln}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("web: serve", "err", err)
		}
	}()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops taking connections and waits for requests in flight, until
// ctx ends.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	return nil
}

// Handler returns the routes wrapped in the middleware. BaseURL and
// SecurityTxt are read here, once: HSTS is sent when BaseURL is https.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+assets.Prefix, assets.Handler())
	ops := &Ops{Checks: s.Checks, Public: true, Logger: s.Logger}
	ops.Register(mux)
	s.routes(mux)
	if s.SecurityTxt != "" {
		mux.HandleFunc(securityTxtPath, s.securityTxt)
	}
	mux.HandleFunc("/", s.notFound)
	return s.logRequests(securityHeaders(mux, isHTTPS(s.BaseURL)))
}
