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
