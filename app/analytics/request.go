package analytics

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// FromRequest is the page view of a request served at at. The client IP is
// the TCP peer's; X-Forwarded-For rides along and is believed by the worker
// only when that peer is a configured trusted proxy. Each field is clipped
// (a few kB per view at most), so a batch stays small whatever readers send.
func FromRequest(r *http.Request, at time.Time) PageView {
	h := r.Header
	pv := PageView{
		Path: clip(r.URL.Path, 512), Host: clip(r.Host, 255), Referrer: clip(first(h, "Referer"), 2048),
		UserAgent: clip(first(h, "User-Agent"), 1024), At: at,
		ForwardedFor: clip(first(h, "X-Forwarded-For"), 512),
		DNT:          first(h, "Dnt") == "1",
		GPC:          first(h, "Sec-Gpc") == "1",
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		pv.IP = host
	} else {
		pv.IP = r.RemoteAddr
	}
	if strings.Contains(r.URL.RawQuery, "utm_source") {
		pv.UTMSource = clip(r.URL.Query().Get("utm_source"), 100)
	}
	return pv
}

// first is the first value of a header by its canonical key, which net/http
// has already made every received key into: Header.Get would canonicalize
// the key again on every call (and allocate for "DNT").
func first(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}
