package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"site/app/admin"
	"site/app/auth"
	"site/app/comments"
	"site/app/content"
	"site/app/jobs"
	"site/app/web"
	"site/internal/testkit"
)

// panel is the admin panel mounted on the shell with sign-in, on real
// SQLite stores, and the messages sign-in sent.
type panel struct {
	*httptest.Server
	auth  *auth.Auth
	admin *admin.Admin
	mu    sync.Mutex
	sent  []jobs.NotifyJob
}

// newPanel builds the panel; each configure func may set the Admin's
// other fields (object store, publisher) before it serves.
func newPanel(tb testing.TB, configure ...func(*admin.Admin)) *panel {
	tb.Helper()
	p := &panel{}
	data, ttl := testkit.DataDB(tb), testkit.TTLDB(tb)
	p.auth = &auth.Auth{Data: data, TTL: ttl, Key: []byte("0123456789abcdef0123456789abcdef"), SiteName: "Test",
		Send: func(_ context.Context, n jobs.NotifyJob, _ string) error {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.sent = append(p.sent, n)
			return nil
		}}
	shell := web.NewServer()
	shell.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	shell.Content = content.NewStore(data)
	sign := &auth.Web{Auth: p.auth, Shell: shell}
	p.admin = &admin.Admin{Shell: shell, Auth: sign, Content: shell.Content, Data: data, Logger: shell.Logger}
	for _, f := range configure {
		f(p.admin)
	}
	// The whole site as the web role mounts it: the comments' routes and
	// the signed links of their mails too.
	links := &comments.LinkPages{Signer: &comments.Signer{Key: p.auth.Key}, Shell: shell, Logger: shell.Logger,
		Moderator: &comments.Moderator{Store: comments.NewStore(data), NC: p.admin.NC, Logger: shell.Logger}}
	shell.Groups = []web.Group{sign, p.admin, links}
	(&comments.Web{Store: comments.NewStore(data), Content: shell.Content, Auth: sign, Shell: shell, Logger: shell.Logger}).Mount(shell)
	shell.SignedIn = sign.SignedIn
	p.Server = httptest.NewServer(shell.Handler())
	tb.Cleanup(p.Close)
	p.auth.SiteURL = p.URL
	return p
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// client signs address in with a code and returns its browser; "" stays
// anonymous.
func (p *panel) client(tb testing.TB, address string) *http.Client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if address == "" {
		return c
	}
	if resp, err := c.PostForm(p.URL+"/signin", url.Values{"address": {address}}); err != nil || resp.StatusCode != 200 {
		tb.Fatalf("request code: %v %v", err, resp)
	}
	p.mu.Lock()
	code := codeRE.FindString(p.sent[len(p.sent)-1].Text)
	p.mu.Unlock()
	resp, err := c.PostForm(p.URL+"/signin/code", url.Values{"address": {address}, "code": {code}})
	if err != nil || resp.StatusCode != 303 {
		tb.Fatalf("sign in %s: %v %v", address, err, resp)
	}
	return c
}

// samplePath fills a route pattern's wildcards.
func samplePath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{table}", "pages") // an analytics table that exists
	path = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(path, "1")
	return method, strings.TrimSuffix(path, "{$}")
}

// TestEveryAdminRouteGuarded walks the panel's route table: an anonymous
// visitor is sent to sign in (GET) or refused (any other method), a reader
// is refused, an admin gets through. A route added without the guard
// fails here.
func TestEveryAdminRouteGuarded(t *testing.T) {
	p := newPanel(t)
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	anonymous, reader, owner := p.client(t, ""), p.client(t, "reader@example.org"), p.client(t, "owner@example.org")
	routes := p.admin.Routes()
	if len(routes) < 2 {
		t.Fatalf("only %d admin routes", len(routes))
	}
	for _, rt := range routes {
		method, path := samplePath(rt.Pattern)
		if !strings.HasPrefix(path, "/admin") {
			t.Errorf("admin route %q outside /admin", rt.Pattern)
		}
		send := func(c *http.Client) *http.Response {
			req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(""))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		resp := send(anonymous)
		if method == http.MethodGet && (resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=")) ||
			method != http.MethodGet && resp.StatusCode != 403 {
			t.Errorf("anonymous %s: %d %s", rt.Pattern, resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp := send(reader); resp.StatusCode != 403 {
			t.Errorf("reader %s: %d, want 403", rt.Pattern, resp.StatusCode)
		}
		if resp := send(owner); resp.StatusCode == 403 || resp.StatusCode == 303 && strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
			t.Errorf("admin %s: %d", rt.Pattern, resp.StatusCode)
		}
	}
}

// TestAuditLog: what an admin does is listed with who, what and from where.
func TestDashboardAndAuditLog(t *testing.T) {
	p := newPanel(t)
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	owner := p.client(t, "owner@example.org")
	resp, err := owner.Get(p.URL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Dashboard") || !strings.Contains(string(body), "owner@example.org") ||
		resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("dashboard: %d %q\n%s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	req := httptest.NewRequest(http.MethodPost, "/admin/posts/1", nil)
	req.RemoteAddr = "192.0.2.7:1234"
	u, _ := p.auth.GrantAdmin(t.Context(), "owner@example.org")
	req = auth.WithUser(req, u)
	if err := p.admin.Audit(req, "post.publish", "posts/hello", "from draft"); err != nil {
		t.Fatal(err)
	}
	resp, err = owner.Get(p.URL + "/admin/audit")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"post.publish", "posts/hello", "from draft", "192.0.2.7", "owner@example.org"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
}
