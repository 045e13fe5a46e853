package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"site/app/metrics"
)

// statusWriter remembers the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs each request and counts it in the metrics by route
// pattern (never by raw path, which would let anyone grow the metrics).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		took := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		method := methodLabel(r.Method)
		s.routeMetrics.count(route, method, sw.code, took)
		level := slog.LevelInfo
		if route == "GET /healthz" || route == "GET /readyz" {
			level = slog.LevelDebug
		}
		if s.Logger.Enabled(r.Context(), level) { // spares building the record's fields
			s.Logger.Log(r.Context(), level, "request", "method", method, "path", r.URL.Path,
				"status", sw.code, "bytes", sw.bytes, "took", took.Round(time.Microsecond))
		}
	})
}

// methodLabel is the method as metrics and logs show it: one of the
// methods HTTP defines, or "OTHER". A client chooses the method freely
// (any token up to the header limit), so each new one would otherwise add
// a series to /metrics and a long value to the log.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// routeMetrics keeps the request counter and latency histogram of each
// route, method and status seen, so a request costs two map reads instead
// of hashing its labels into the metric vectors.
type routeMetrics struct {
	m sync.Map // routeKey → *routeSeries
}

type routeKey struct {
	route, method string
	code          int
}

type routeSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (rm *routeMetrics) count(route, method string, code int, took time.Duration) {
	k := routeKey{route, method, code}
	v, ok := rm.m.Load(k)
	if !ok {
		v, _ = rm.m.LoadOrStore(k, &routeSeries{
			requests: metrics.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(code)),
			duration: metrics.HTTPDuration.WithLabelValues(route),
		})
	}
	rs := v.(*routeSeries)
	rs.requests.Inc()
	rs.duration.Observe(took.Seconds())
}

// The headers every response carries, in canonical form. The value slices
// are shared by all responses: each has capacity one, so a handler's Add
// appends to a copy, never to them.
var (
	headerCSP            = []string{"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"}
	headerNoSniff        = []string{"nosniff"}
	headerReferrerPolicy = []string{"strict-origin-when-cross-origin"}
	headerFrameDeny      = []string{"DENY"}
	// headerPermissions denies the powerful features a personal site never
	// uses, to its own pages and to anything they might embed. Only names
	// desktop Chromium knows: it prints a console error for any other
	// (TestBrowser fails on one). browsing-topics is the Topics ad API;
	// interest-cohort, FLoC's old name, is only an alias of it now.
	headerPermissions = []string{"accelerometer=(), browsing-topics=(), camera=(), display-capture=(), geolocation=(), " +
		"gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=()"}
	// headerHSTS keeps browsers on https for a year once they have seen
	// the site there. Without includeSubDomains: other hosts under the
	// domain (a router's page, a test box) may not have https, and this
	// header would lock browsers out of them. Without preload: the preload
	// list is compiled into browsers and takes months to leave; an owner
	// who wants it should choose it knowingly.
	headerHSTS = []string{"max-age=31536000"}
)

// securityHeaders sets the headers every response carries; hsts adds
// Strict-Transport-Security (browsers ignore it over plain http, so it is
// for sites whose base URL is https).
func securityHeaders(next http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = headerCSP
		h["X-Content-Type-Options"] = headerNoSniff
		h["Referrer-Policy"] = headerReferrerPolicy
		h["X-Frame-Options"] = headerFrameDeny
		h["Permissions-Policy"] = headerPermissions
		if hsts {
			h["Strict-Transport-Security"] = headerHSTS
		}
		next.ServeHTTP(w, r)
	})
}

// isHTTPS reports whether the base URL's scheme is https.
func isHTTPS(baseURL string) bool {
	u, err := url.Parse(baseURL)
	return err == nil && u.Scheme == "https"
}
