package analytics

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// FromRequest is the page view of a request served at at. The client IP is
// the TCP peer's; X-Forwarded-For rides along and is believed by the worker
// only when that peer is a configured trusted proxy.
func FromRequest(r *http.Request, at time.Time) PageView {
	pv := PageView{
		Path: r.URL.Path, Host: r.Host, Referrer: r.Referer(), UserAgent: r.UserAgent(), At: at,
		ForwardedFor: r.Header.Get("X-Forwarded-For"),
		DNT:          r.Header.Get("DNT") == "1",
		GPC:          r.Header.Get("Sec-GPC") == "1",
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		pv.IP = host
	} else {
		pv.IP = r.RemoteAddr
	}
	if strings.Contains(r.URL.RawQuery, "utm_source") {
		pv.UTMSource = r.URL.Query().Get("utm_source")
	}
	return pv
}
