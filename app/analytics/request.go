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
	pv := PageView{
		Path: clip(r.URL.Path, 512), Host: clip(r.Host, 255), Referrer: clip(r.Referer(), 2048),
		UserAgent: clip(r.UserAgent(), 1024), At: at,
		ForwardedFor: clip(r.Header.Get("X-Forwarded-For"), 512),
		DNT:          r.Header.Get("DNT") == "1",
		GPC:          r.Header.Get("Sec-GPC") == "1",
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
