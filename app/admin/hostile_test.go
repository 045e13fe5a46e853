package admin_test

import (
	"net/http"
	"strings"
	"testing"
)

// oversized is what each state-changing route of the site (the public
// pages, sign-in and the admin panel mounted together, as the web role
// does) answers to an admin sending it an 8 MiB form: 413 where the route
// reads a body (refused before it is read whole); a route that reads none
// acts (sign-out: 303) or fails on its path first (404 for an id that
// names nothing, 400 for a form that is not multipart, 503 where this test
// gives it no JetStream or no domain name for passkeys). Never a 500. A
// route added without a line here fails TestEveryStateChangingRouteHostile.
var oversized = map[string]int{
	"POST /signin":                        413,
	"POST /signin/code":                   413,
	"POST /signin/link":                   413,
	"POST /signout":                       303,
	"POST /account/sessions/end":          413,
	"POST /account/sessions/end-all":      303,
	"POST /account/passkeys/begin":        503,
	"POST /account/passkeys/finish":       413,
	"POST /account/passkeys/remove":       413,
	"POST /signin/passkey/begin":          503,
	"POST /signin/passkey/finish":         413,
	"POST /setup":                         413,
	"POST /admin/posts/new":               413,
	"POST /admin/posts/{id}":              404,
	"POST /admin/posts/{id}/delete":       404,
	"POST /admin/posts/{id}/autosave":     404,
	"POST /admin/posts/preview":           413,
	"POST /admin/media":                   400,
	"POST /admin/media/alt":               413,
	"POST /admin/media/delete":            413,
	"POST /admin/jobs/dead/{seq}/retry":   503,
	"POST /admin/jobs/dead/{seq}/discard": 503,
	"POST /admin/backups/run":             400,
	"POST /admin/comments/action":         413,
	"POST /posts/{slug}/comments":         413,
	"POST /comments/{id}/edit":            413,
	"POST /comments/{id}/delete":          413,
	"POST /comments/moderate":             413,
	"POST /comments/unsubscribe":          413,
}

// TestEveryStateChangingRouteHostile walks the whole site's route table:
// every route refuses a method it does not take (405) and every
// state-changing one refuses a cross-site request (403) and answers an
// oversized body as its line in oversized says.
func TestEveryStateChangingRouteHostile(t *testing.T) {
	p := newPanel(t)
	u, err := p.auth.GrantAdmin(t.Context(), "owner@example.org")
	if err != nil {
		t.Fatal(err)
	}
	owner := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	big := "a=" + strings.Repeat("x", 8<<20)
	for _, rt := range p.admin.Shell.Routes() {
		method, path := samplePath(rt.Pattern)
		// A session of its own for each route: sign-out ends one.
		token, err := p.auth.NewSession(t.Context(), u, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		send := func(method, body string, header ...string) int {
			req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(body))
			req.AddCookie(&http.Cookie{Name: "session", Value: token})
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := owner.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := send("PROPFIND", ""); code != http.StatusMethodNotAllowed {
			t.Errorf("PROPFIND %s: %d, want 405", path, code)
		}
		if method == http.MethodGet {
			continue
		}
		if code := send(method, "a=1", "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
			t.Errorf("cross-site %s: %d, want 403", rt.Pattern, code)
		}
		want, ok := oversized[rt.Pattern]
		code := send(method, big, "Sec-Fetch-Site", "same-origin")
		if !ok {
			t.Errorf("%q has no line in oversized (it answered %d to an 8 MiB form)", rt.Pattern, code)
			continue
		}
		if code != want || code == http.StatusInternalServerError {
			t.Errorf("8 MiB form to %s: %d, want %d", rt.Pattern, code, want)
		}
	}
}
