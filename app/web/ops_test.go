package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"site/app/web"
)

// TestReadyzHidesReasonsInPublic: a failing check answers 503 on both
// listeners, but only the ops listener says why; the site's own /readyz,
// which anyone can reach, says "failing" and names no host or path.
func TestReadyzHidesReasonsInPublic(t *testing.T) {
	const secret = "dial tcp 10.1.2.3:9000: objects at http://10.1.2.3:9000/backup"
	checks := []web.Check{
		{Name: "data.db", Func: func(context.Context) error { return nil }},
		{Name: "objects", Func: func(context.Context) error { return errors.New(secret) }},
	}
	_, site := MustSite(t, func(s *web.Server) { s.Checks = checks })
	ops := httptest.NewServer((&web.Ops{Checks: checks}).Handler())
	t.Cleanup(ops.Close)

	for _, c := range []struct {
		name, url string
		want      string
	}{
		{"site", site.URL + "/readyz", `"objects":"failing"`},
		{"ops", ops.URL + "/readyz", secret},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), c.want) || !strings.Contains(string(body), `"data.db":"ok"`) {
			t.Errorf("%s /readyz = %d %s; want 503 with %s", c.name, resp.StatusCode, body, c.want)
		}
		if c.name == "site" && strings.Contains(string(body), "10.1.2.3") {
			t.Errorf("site /readyz shows the reason: %s", body)
		}
	}
}

// TestMetricsOnlyOnOps: the site's own listener, which anyone can reach,
// serves no /metrics in any spelling (the series name routes, jobs and the
// backups' state); the ops listener serves it, with /healthz and /readyz.
func TestMetricsOnlyOnOps(t *testing.T) {
	s := openSite(t)
	for _, c := range []struct {
		method, target string
		code           int
	}{
		{"GET", "/metrics", 404},
		{"HEAD", "/metrics", 404},
		{"GET", "/metrics?format=prometheus", 404},
		{"GET", "/metrics/", 301}, // the trailing-slash redirect, to a 404
		{"GET", "/METRICS", 404},
		{"GET", "/%6detrics", 404},
		{"GET", "//metrics", 307},  // cleaned by the mux to /metrics, a 404
		{"GET", "/./metrics", 307}, // likewise
		{"POST", "/metrics", 405},
		{"GET", "/healthz", 200},
		{"GET", "/readyz", 200},
	} {
		resp, body := raw(t, s.Addr(), c.method, c.target)
		if resp.StatusCode != c.code || strings.Contains(body, "# TYPE") || strings.Contains(body, "go_goroutines") {
			t.Errorf("site %s %s = %d %q; want %d and no metrics", c.method, c.target, resp.StatusCode, firstLine(body), c.code)
		}
		if loc := resp.Header.Get("Location"); c.code/100 == 3 {
			if got, _ := raw(t, s.Addr(), "GET", loc); got.StatusCode != 404 {
				t.Errorf("site %s %s: redirect to %q answers %d; want 404", c.method, c.target, loc, got.StatusCode)
			}
		}
	}

	ops := httptest.NewServer((&web.Ops{}).Handler())
	t.Cleanup(ops.Close)
	for path, want := range map[string]string{"/metrics": "# TYPE", "/healthz": "ok", "/readyz": "{}"} {
		resp, err := http.Get(ops.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("ops %s = %d %q; want 200 with %q", path, resp.StatusCode, firstLine(string(body)), want)
		}
	}
}
