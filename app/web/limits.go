package web

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"site/app/analytics"
	"site/app/metrics"
)

// Defaults of the shell's limits.
const (
	// DefaultMaxConnsPerIP bounds the connections one address holds open
	// at once (trusted proxies excepted): a slowloris from one address
	// cannot take the process's file descriptors.
	DefaultMaxConnsPerIP = 256
	// DefaultSearchesPerMinute bounds the searches (the one public page
	// that is never cached: each is a query) one client makes a minute.
	DefaultSearchesPerMinute = 30
)

// connLimiter counts open connections per remote address.
type connLimiter struct {
	max     int
	trusted []netip.Prefix
	mu      sync.Mutex
	open    map[netip.Addr]int
	refused func() // called for each connection refused
}

// limitedListener closes, as soon as it is accepted, a connection from an
// address that already holds max open ones.
type limitedListener struct {
	net.Listener
	l *connLimiter
}

func (ln limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, perr := netip.ParseAddrPort(c.RemoteAddr().String())
		ip := ap.Addr().Unmap()
		if perr != nil || analytics.IsTrusted(ip, ln.l.trusted) {
			return c, nil
		}
		ln.l.mu.Lock()
		n := ln.l.open[ip]
		if n >= ln.l.max {
			ln.l.mu.Unlock()
			_ = c.Close()
			if ln.l.refused != nil {
				ln.l.refused()
			}
			continue
		}
		ln.l.open[ip] = n + 1
		ln.l.mu.Unlock()
		return &limitedConn{Conn: c, l: ln.l, ip: ip}, nil
	}
}

// limitedConn gives its address's slot back once, at Close.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	ip   netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.open[c.ip]--; c.l.open[c.ip] <= 0 {
			delete(c.l.open, c.ip)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// SyscallConn gives the descriptor (see coalescingConn.SyscallConn).
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("web: the connection has no descriptor")
	}
	return sc.SyscallConn()
}

// ReadFrom lets the wrapped connection copy from r its own way (the
// coalescing connection sends a held write first; a TCP connection uses
// sendfile or splice).
func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite shuts the sending side when the connection can.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// rateLimiter counts requests per client in fixed windows, in this
// process's memory (each web process limits on its own; restarting one
// forgets its counts, which is fine for limits meant to stop floods).
type rateLimiter struct {
	per    int
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	counts map[netip.Addr]*rateWindow
}

type rateWindow struct {
	start time.Time
	n     int
}

// maxTracked bounds the clients a rateLimiter remembers; past it, windows
// that ended are forgotten, and if all are current, all are.
const maxTracked = 100_000

// allow counts a request of ip; false, with when the window ends, once ip
// made per requests in the current window.
func (l *rateLimiter) allow(ip netip.Addr) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil || len(l.counts) >= maxTracked {
		l.forget(now)
	}
	w := l.counts[ip]
	if w == nil || now.Sub(w.start) >= l.window {
		w = &rateWindow{start: now}
		l.counts[ip] = w
	}
	if w.n >= l.per {
		return false, w.start.Add(l.window).Sub(now)
	}
	w.n++
	return true, 0
}

func (l *rateLimiter) forget(now time.Time) {
	if l.counts == nil {
		l.counts = map[netip.Addr]*rateWindow{}
		return
	}
	for ip, w := range l.counts {
		if now.Sub(w.start) >= l.window {
			delete(l.counts, ip)
		}
	}
	if len(l.counts) >= maxTracked {
		clear(l.counts)
	}
}

// limitSearches answers 429 (with Retry-After and a page saying why) to a
// client past SearchesPerMinute searches in the current minute; a request
// without a query (the empty search form) is not counted.
func (s *Server) limitSearches(next http.Handler) http.Handler {
	per := s.SearchesPerMinute
	if per == 0 {
		per = DefaultSearchesPerMinute
	}
	if per < 0 {
		return next
	}
	l := &rateLimiter{per: per, window: time.Minute, now: time.Now}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("q") == "" {
			next.ServeHTTP(w, r)
			return
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		ip := analytics.ClientIP(host, r.Header.Get("X-Forwarded-For"), s.TrustedProxies)
		if ok, wait := l.allow(ip); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
			send(w, r, s.errorEntry(r.Context(), http.StatusTooManyRequests))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitConns wraps ln with MaxConnsPerIP, unless it is negative.
func (s *Server) limitConns(ln net.Listener) net.Listener {
	per := s.MaxConnsPerIP
	if per == 0 {
		per = DefaultMaxConnsPerIP
	}
	if per < 0 {
		return ln
	}
	return limitedListener{Listener: ln, l: &connLimiter{max: per, trusted: s.TrustedProxies,
		open: map[netip.Addr]int{}, refused: metrics.ConnsRefused.Inc}}
}
