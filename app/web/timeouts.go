package web

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// The defaults of the Server's timeouts, for a personal site: requests are
// small GETs (the site takes no uploads) and pages are cached bytes.
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included; a
	// client still sending after it is holding a connection for nothing.
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds a response, from the end of its request's
	// headers: a page leaves in milliseconds, so this only ends clients
	// that stop reading. /media/ stretches it by the object's size.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultIdleTimeout bounds a keep-alive connection's wait for its
	// next request.
	DefaultIdleTimeout = 2 * time.Minute
)

// minTransferRate is the slowest reader a /media/ download is allowed for:
// 32 KiB/s (256 kbit/s) gives a 50 MiB file about 27 minutes.
const minTransferRate = 32 << 10

// httpServer returns the http.Server of h with the Server's timeouts.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cmp.Or(s.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       cmp.Or(s.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      cmp.Or(s.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       cmp.Or(s.IdleTimeout, DefaultIdleTimeout),
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
}

// liftDeadlines removes the read and write deadlines the server set for
// this request (ReadTimeout and WriteTimeout), for a handler that streams
// for longer than they allow: server-sent events, say, or a body read as
// it comes. Call it before the first write. The next request on the
// connection gets fresh deadlines. A stream without deadlines never
// notices a client that stopped reading, so a long-lived one should set
// its own write deadline before each write, through
// http.NewResponseController(w). The error wraps http.ErrNotSupported
// when w (or what it unwraps to) has no connection.
func liftDeadlines(w http.ResponseWriter) error {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("lift read deadline: %w", err)
	}
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("lift write deadline: %w", err)
	}
	return nil
}

// allowTransfer gives a response of size bytes the time to reach a reader
// at minTransferRate on top of WriteTimeout. A failure is logged: the
// response goes on under the server's deadline.
func (s *Server) allowTransfer(w http.ResponseWriter, r *http.Request, size int64) {
	write := cmp.Or(s.WriteTimeout, DefaultWriteTimeout)
	write += time.Duration(max(size, 0)/minTransferRate) * time.Second
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(write)); err != nil {
		s.Logger.Warn("web: transfer deadline", "path", r.URL.Path, "err", err)
	}
}
