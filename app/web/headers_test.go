package web_test

import (
	"strings"
	"testing"

	"site/app/web"
)

// TestSecurityHeaders: every response (a page, the 404 page, an asset
// redirect) carries the Permissions-Policy, and HSTS exactly when the base
// URL is https.
func TestSecurityHeaders(t *testing.T) {
	for _, c := range []struct {
		baseURL, hsts string
	}{
		{"https://example.org", "max-age=31536000"},
		{"HTTPS://example.org", "max-age=31536000"},
		{"http://example.org", ""},
		{"", ""},
	} {
		_, ts := MustSite(t, func(s *web.Server) { s.BaseURL = c.baseURL })
		for _, path := range []string{"/", "/posts/no-such-post", "/posts"} {
			resp, _ := fetch(t, ts, path)
			h := resp.Header
			if got := h.Get("Strict-Transport-Security"); got != c.hsts {
				t.Errorf("base URL %q, GET %s: Strict-Transport-Security %q, want %q", c.baseURL, path, got, c.hsts)
			}
			pp := h.Get("Permissions-Policy")
			for _, feature := range []string{"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()", "browsing-topics=()"} {
				if !strings.Contains(pp, feature) {
					t.Errorf("GET %s: Permissions-Policy %q lacks %s", path, pp, feature)
				}
			}
			if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s lost the other security headers: %v", path, h)
			}
		}
	}
}

// TestSecurityHeadersOpen: the server Open starts decides HSTS from the
// base URL set before it (as serve does when web.base_url is set).
func TestSecurityHeadersOpen(t *testing.T) {
	s := openSite(t, func(s *web.Server) { s.SecurityTxt = testSecurityTxt })
	resp, _ := raw(t, s.Addr(), "GET", "/.well-known/security.txt")
	if resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" || resp.Header.Get("Permissions-Policy") == "" {
		t.Errorf("security.txt headers: %v", resp.Header)
	}
}
