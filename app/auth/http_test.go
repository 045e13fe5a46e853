package auth_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"site/app/auth"
	"site/app/web"
)

// adminOnly is a group guarded by RequireAdmin, as the admin panel is.
type adminOnly struct{ h *auth.Web }

func (g adminOnly) Routes() []web.Route {
	return []web.Route{{Pattern: "GET /admin", Handler: g.h.RequireAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserOf(r)
		_, _ = io.WriteString(w, "admin panel for "+u.Address)
	}))}}
}

// testSite serves the shell with sign-in mounted; secure names the cookie
// as over https.
func testSite(tb testing.TB, secure bool) (*auth.Auth, *outbox, *httptest.Server) {
	tb.Helper()
	a, out, _ := testAuth(tb)
	a.Now = nil
	shell := web.NewServer()
	shell.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &auth.Web{Auth: a, Shell: shell, Secure: secure}
	shell.Groups = []web.Group{h, adminOnly{h}}
	shell.SignedIn = h.SignedIn
	ts := httptest.NewServer(shell.Handler())
	tb.Cleanup(ts.Close)
	return a, out, ts
}

// browser is a client with cookies that does not follow redirects.
func browser(tb testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(tb testing.TB, c *http.Client, target string, form url.Values, header ...string) (*http.Response, string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(tb, c, req)
}

func get(tb testing.TB, c *http.Client, target string) (*http.Response, string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	return do(tb, c, req)
}

func do(tb testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signInWithCode walks the code pages and returns the session cookie.
func signInWithCode(t *testing.T, c *http.Client, out *outbox, base, address, next string) *http.Response {
	t.Helper()
	resp, body := post(t, c, base+"/signin", url.Values{"address": {address}, "next": {next}})
	if resp.StatusCode != 200 || !strings.Contains(body, `autocomplete="one-time-code"`) {
		t.Fatalf("POST /signin: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = post(t, c, base+"/signin/code", url.Values{"address": {address}, "code": {codeOf(t, out.last(t))}, "next": {next}})
	return resp
}

func TestSignInPages(t *testing.T) {
	a, out, ts := testSite(t, false)
	c := browser(t)
	if _, err := a.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, c, ts.URL+"/signin")
	if resp.StatusCode != 200 || !strings.Contains(body, `<label for="address">`) || resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("GET /signin: %d %q\n%s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	// A bad address keeps what was typed and says why.
	resp, body = post(t, c, ts.URL+"/signin", url.Values{"address": {"owner at example"}})
	if resp.StatusCode != 400 || !strings.Contains(body, `value="owner at example"`) || !strings.Contains(body, "not an email address") {
		t.Fatalf("bad address: %d\n%s", resp.StatusCode, body)
	}
	// An anonymous visitor is sent to sign in, and back.
	resp, _ = get(t, c, ts.URL+"/admin")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/signin?next=%2Fadmin" {
		t.Fatalf("anonymous /admin: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A wrong code keeps the address; the right one signs in.
	post(t, c, ts.URL+"/signin", url.Values{"address": {"owner@example.org"}})
	resp, body = post(t, c, ts.URL+"/signin/code", url.Values{"address": {"owner@example.org"}, "code": {"12345x"}})
	if resp.StatusCode != 401 || !strings.Contains(body, `value="owner@example.org"`) {
		t.Fatalf("wrong code: %d\n%s", resp.StatusCode, body)
	}
	resp = signInWithCode(t, c, out, ts.URL, "owner@example.org", "//evil.example/x")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("signed in: %d, Location %q (a foreign next must not be followed)", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"session=", "Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") || strings.Contains(cookie, "__Host-") {
		t.Errorf("cookie over http: %q", cookie)
	}
	if resp, body := get(t, c, ts.URL+"/admin"); resp.StatusCode != 200 || body != "admin panel for owner@example.org" {
		t.Fatalf("admin after sign-in: %d %q", resp.StatusCode, body)
	}
	// Signed in, a public page is built for the request alone.
	if resp, _ := get(t, c, ts.URL+"/"); resp.Header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("signed-in home page: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	resp, body = get(t, c, ts.URL+"/account")
	if resp.StatusCode != 200 || !strings.Contains(body, "owner@example.org") || !strings.Contains(body, "(this device)") {
		t.Fatalf("account: %d\n%s", resp.StatusCode, body)
	}
	// Signing out ends the session on the server, not only the cookie.
	u, _ := url.Parse(ts.URL)
	stolen := c.Jar.Cookies(u)
	resp, _ = post(t, c, ts.URL+"/signout", nil)
	if resp.StatusCode != 303 {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	replay := browser(t)
	replay.Jar.SetCookies(u, stolen)
	if resp, _ := get(t, replay, ts.URL+"/admin"); resp.StatusCode != 303 {
		t.Errorf("the signed-out session's cookie still opens /admin: %d", resp.StatusCode)
	}
}

func TestReaderIsNotAdmin(t *testing.T) {
	_, out, ts := testSite(t, false)
	c := browser(t)
	resp := signInWithCode(t, c, out, ts.URL, "reader@example.org", "")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("reader signed in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := get(t, c, ts.URL+"/admin"); resp.StatusCode != 403 || strings.Contains(body, "admin panel") {
		t.Fatalf("reader at /admin: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, ts.URL+"/account"); resp.StatusCode != 200 {
		t.Fatalf("reader's account: %d", resp.StatusCode)
	}
}

func TestSignInLinkAndCookieOverHTTPS(t *testing.T) {
	_, out, ts := testSite(t, true)
	c := browser(t)
	post(t, c, ts.URL+"/signin", url.Values{"address": {"ada@example.org"}, "next": {"/account"}})
	token := linkRE.FindStringSubmatch(out.last(t).Text)[1]
	// Opening the link only shows a button: a mail scanner uses nothing.
	resp, body := get(t, c, ts.URL+"/signin/link?token="+token)
	if resp.StatusCode != 200 || !strings.Contains(body, `action="/signin/link"`) || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("link page: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = post(t, c, ts.URL+"/signin/link", url.Values{"token": {token}, "next": {"/account"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/account" {
		t.Fatalf("link sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"__Host-session=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Domain=") {
		t.Errorf("__Host- cookie with a Domain: %q", cookie)
	}
	if resp, body := post(t, browser(t), ts.URL+"/signin/link", url.Values{"token": {token}}); resp.StatusCode != 401 || !strings.Contains(body, "does not work any more") {
		t.Fatalf("reused link: %d", resp.StatusCode)
	}
}

// TestSignInHostile: cross-site posts, oversized and malformed forms, and
// guarded routes without a session.
func TestSignInHostile(t *testing.T) {
	_, out, ts := testSite(t, false)
	c := browser(t)
	cases := []struct {
		name, method, path, body string
		header                   []string
		code                     int
	}{
		{"cross-site code request", "POST", "/signin", "address=a%40example.org", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"cross-site sign-out", "POST", "/signout", "", []string{"Origin", "https://evil.example"}, 403},
		{"huge form", "POST", "/signin", "address=" + strings.Repeat("a", 10_000), nil, 413},
		{"malformed form", "POST", "/signin", "address=%zz", nil, 400},
		{"anonymous session end", "POST", "/account/sessions/end", "id=x", nil, 403},
		{"anonymous sign-out everywhere", "POST", "/account/sessions/end-all", "", nil, 403},
		{"GET of a form's action", "GET", "/signin/code", "", nil, 404},
		{"PUT", "PUT", "/signin", "", nil, 405},
		{"link without token", "GET", "/signin/link", "", nil, 200},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(tc.header); i += 2 {
			req.Header.Set(tc.header[i], tc.header[i+1])
		}
		if resp, _ := do(t, c, req); resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.sent) != 0 {
		t.Errorf("hostile requests sent %d messages", len(out.sent))
	}
}

// TestSetupLink: on a site without an admin, the setup link makes the
// signed-in user who opens it the first admin, once.
func TestSetupLink(t *testing.T) {
	a, out, ts := testSite(t, false)
	a.SiteURL = ts.URL
	link, err := a.SetupLink(t.Context())
	if err != nil || !strings.HasPrefix(link, ts.URL+"/setup?token=") {
		t.Fatalf("setup link %q: %v", link, err)
	}
	c := browser(t)
	// Anonymous, the link asks to sign in first, and comes back.
	resp, _ := get(t, c, link)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=%2Fsetup%3Ftoken%3D") {
		t.Fatalf("anonymous setup: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	signInWithCode(t, c, out, ts.URL, "owner@example.org", "")
	resp, body := get(t, c, link)
	if resp.StatusCode != 200 || !strings.Contains(body, "Make me the admin") || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("setup page: %d\n%s", resp.StatusCode, body)
	}
	token := strings.TrimPrefix(link, ts.URL+"/setup?token=")
	if resp, _ := post(t, c, ts.URL+"/setup", url.Values{"token": {token}}); resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("claim: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n, _ := a.Admins(t.Context()); n != 1 {
		t.Fatalf("%d admins after the setup link", n)
	}
	if resp, _ := get(t, c, ts.URL+"/admin"); resp.StatusCode != 200 {
		t.Fatalf("the new admin at /admin: %d", resp.StatusCode)
	}
	// Used once; and no new link once there is an admin.
	other := browser(t)
	signInWithCode(t, other, out, ts.URL, "intruder@example.org", "")
	if resp, body := post(t, other, ts.URL+"/setup", url.Values{"token": {token}}); resp.StatusCode != 401 || !strings.Contains(body, "does not work") {
		t.Fatalf("reused setup link: %d", resp.StatusCode)
	}
	if link, err := a.SetupLink(t.Context()); link != "" || err != nil {
		t.Fatalf("a setup link while an admin exists: %q %v", link, err)
	}
}
