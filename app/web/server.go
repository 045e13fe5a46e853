// Package web is the web role's shell: the site's HTTP server, its
// listener and middleware, error pages and render/send, the route groups
// features mount (Group), and the public group: pages, feeds, /media/ and
// the page cache. Ops serves health, readiness and metrics.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/minio/minio-go/v7"

	"site/app/analytics"
	"site/app/content"
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
	// MediaBucket names the bucket /media/ reads image variants from (the
	// private one: /media/ decides which keys readers may fetch).
	MediaBucket string
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
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (analytics.trusted_proxies); they are exempt from
	// MaxConnsPerIP.
	TrustedProxies []netip.Prefix
	// MaxConnsPerIP bounds the connections one address holds open; a
	// connection past it is closed as soon as it is accepted. Zero means
	// DefaultMaxConnsPerIP, negative no bound.
	MaxConnsPerIP int
	// SearchesPerMinute bounds one client's searches; past it, 429 with
	// Retry-After. Zero means DefaultSearchesPerMinute, negative no bound.
	SearchesPerMinute int
	// Groups are the features mounted beside the public pages (Group).
	Groups []Group
	// SignedIn reports whether a request carries a session. Such a request
	// is served a page built for it alone: never from or into the page
	// cache, sent "private, no-store", and not counted as a page view. Nil
	// means no one signs in.
	SignedIn func(*http.Request) bool
	// EntryExtras, when set, gives what an entry's page shows after the
	// article (a post's comments) and the scripts that need. A page built
	// for an anonymous request is cached and served to every anonymous
	// reader: for a request without a session it must give the same to all.
	EntryExtras func(r *http.Request, post *content.Post) (EntryExtra, error)

	ln           net.Listener
	srv          *http.Server
	routeMetrics routeMetrics
	cache        *pageCache
	once         sync.Once
}

// EntryExtra is what a feature adds to an entry's page (EntryExtras).
type EntryExtra struct {
	// Component is rendered after the article; nil renders nothing.
	Component templ.Component
	// Scripts are assets (e.g. "comments.js") the page loads as modules.
	Scripts []string
}

// NewServer returns a Server with defaults set.
func NewServer() *Server {
	return &Server{Listen: ":8080", SiteName: "site", Language: "en", MediaBucket: "private",
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
		if err := s.srv.Serve(s.limitConns(coalescingListener{s.ln})); err != nil && !errors.Is(err, http.ErrServerClosed) {
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

// Handler returns every route (Routes) wrapped in the shell's middleware:
// request logs and metrics, the security headers, and refusal of
// state-changing requests from other sites (http.CrossOriginProtection:
// 403 for a POST, PUT, PATCH or DELETE a browser marks cross-site). BaseURL
// and SecurityTxt are read here, once: HSTS is sent when BaseURL is https.
// Two routes with one pattern panic, as http.ServeMux does.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Forbidden: this request came from another site.", http.StatusForbidden)
	}))
	return s.logRequests(securityHeaders(cop.Handler(mux), isHTTPS(s.BaseURL)))
}
