package web_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"site/app/live"
	"site/app/web"
	"site/assets"
)

// routeCase is a route's sample request and how it answers a plain GET.
type routeCase struct {
	path string // a path the pattern matches
	code int    // the status a plain GET gets
}

// hostileRoutes names a sample of every route the site serves. A route
// added without a line here fails TestEveryRouteHostile: each new route
// must be sent the hostile requests below before it ships.
var hostileRoutes = map[string]routeCase{
	"GET /assets/":                  {assets.URL("site.css"), 200},
	"GET /healthz":                  {"/healthz", 200},
	"GET /readyz":                   {"/readyz", 200},
	"GET /.well-known/security.txt": {"/.well-known/security.txt", 200},
	"GET /{$}":                      {"/", 200},
	"GET /posts/{$}":                {"/posts/", 200},
	"GET /posts/{slug}":             {"/posts/hello-world", 200},
	"GET /projects/{$}":             {"/projects/", 200},
	"GET /projects/{slug}":          {"/projects/tool", 200},
	"GET /tags/{$}":                 {"/tags/", 200},
	"GET /tags/{tag}":               {"/tags/go", 200},
	"GET /archive":                  {"/archive", 200},
	"GET /search":                   {"/search?q=sqlite", 200},
	"GET /about":                    {"/about", 200},
	"GET /{slug}":                   {"/no-such-page", 404},
	"GET /feed.xml":                 {"/feed.xml", 200},
	"GET /tags/{tag}/feed.xml":      {"/tags/go/feed.xml", 200},
	"GET /atom.xml":                 {"/atom.xml", 200},
	"GET /tags/{tag}/atom.xml":      {"/tags/go/atom.xml", 200},
	"GET /feed.json":                {"/feed.json", 200},
	"GET /tags/{tag}/feed.json":     {"/tags/go/feed.json", 200},
	"GET /sitemap.xml":              {"/sitemap.xml", 200},
	"GET /robots.txt":               {"/robots.txt", 200},
	"GET /favicon.ico":              {"/favicon.ico", 200},
	"GET /media/{key...}":           {"/media/projects/tool/cover.png", 404}, // no object store here: TestMedia has one
	"GET /posts":                    {"/posts", 301},
	"GET /projects":                 {"/projects", 301},
	"GET /tags":                     {"/tags", 301},
	"GET /":                         {"/no/such/page", 404},
	"GET /live/posts/{slug}":        {"/live/posts/draft", 404}, // a draft has no stream; live's tests open real ones
}

// TestEveryRouteHostile walks the router (Server.Routes) and sends each
// route's sample the requests an attacker or a broken client sends: other
// methods, a cross-site post, a long query, many ranges, a traversal, a
// body where none is read. Each must get its expected status, never a 5xx,
// and nothing but the route's own answer.
func TestEveryRouteHostile(t *testing.T) {
	s := openSite(t, func(s *web.Server) {
		s.SecurityTxt = testSecurityTxt
		s.Groups = append(s.Groups, &live.Posts{Content: s.Content})
	})
	served := map[string]bool{}
	for _, rt := range s.Routes() {
		served[rt.Pattern] = true
		c, ok := hostileRoutes[rt.Pattern]
		if !ok {
			t.Errorf("route %q has no case in hostileRoutes: add a sample path and its GET status", rt.Pattern)
			continue
		}
		if !strings.HasPrefix(rt.Pattern, "GET ") {
			t.Errorf("route %q takes every method: give it the one it serves", rt.Pattern)
		}
		t.Run(c.path, func(t *testing.T) {
			check := func(name string, resp *http.Response, body string, want ...int) {
				t.Helper()
				for _, code := range want {
					if resp.StatusCode == code {
						return
					}
				}
				t.Errorf("%s: %d, want %v (body %.80q)", name, resp.StatusCode, want, body)
			}
			resp, body := rawWith(t, s.Addr(), "GET", c.path, "")
			check("GET", resp, body, c.code)
			resp, body = rawWith(t, s.Addr(), "HEAD", c.path, "")
			check("HEAD", resp, body, c.code)
			if body != "" {
				t.Errorf("HEAD sent a body of %d bytes", len(body))
			}
			// Methods a GET route does not take: 405 with Allow.
			for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"} {
				resp, body := rawWith(t, s.Addr(), method, c.path, "Sec-Fetch-Site: same-origin\r\n")
				check(method, resp, body, 405)
				if !strings.Contains(resp.Header.Get("Allow"), "GET") {
					t.Errorf("%s: Allow %q", method, resp.Header.Get("Allow"))
				}
			}
			// A state-changing request from another site is refused before
			// any route sees it.
			resp, body = rawWith(t, s.Addr(), "POST", c.path, "Sec-Fetch-Site: cross-site\r\n")
			check("cross-site POST", resp, body, 403)
			resp, body = rawWith(t, s.Addr(), "DELETE", c.path, "Origin: https://evil.example\r\n")
			check("DELETE from a foreign Origin", resp, body, 403)
			// A body on a GET is not read into anything.
			resp, body = rawWith(t, s.Addr(), "GET", c.path, "Content-Type: application/json\r\nX-Body: {\"a\":1}\r\n")
			check("GET with headers of a body", resp, body, c.code)
			// A long query: pages ignore what they do not read.
			sep := "?"
			if strings.Contains(c.path, "?") {
				sep = "&"
			}
			resp, body = rawWith(t, s.Addr(), "GET", c.path+sep+"x="+strings.Repeat("A", 60_000), "")
			check("60 KB query", resp, body, c.code)
			// Many ranges: a page answers whole, never a multipart of them.
			ranges := make([]string, 500)
			for i := range ranges {
				ranges[i] = fmt.Sprintf("%d-%d", i, i)
			}
			resp, body = rawWith(t, s.Addr(), "GET", c.path, "Range: bytes="+strings.Join(ranges, ",")+"\r\n")
			check("500 ranges", resp, body, c.code)
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/") {
				t.Errorf("500 ranges answered %s", resp.Header.Get("Content-Type"))
			}
			// Traversal below the route: never the secrets beside the data.
			for _, tail := range []string{"/..%2f..%2fsecrets.json", "/%2e%2e/%2e%2e/secrets.json", "%00.json"} {
				resp, body := rawWith(t, s.Addr(), "GET", strings.TrimSuffix(strings.Split(c.path, "?")[0], "/")+tail, "")
				check("GET …"+tail, resp, body, 400, 404)
			}
		})
	}
	for pattern := range hostileRoutes {
		if !served[pattern] {
			t.Errorf("hostileRoutes names %q, which the site does not serve: remove it", pattern)
		}
	}
}

// TestHostileHeaders: a Host that is not a host name and headers past the
// limit are refused by the server before any route.
func TestHostileHeaders(t *testing.T) {
	s := openSite(t)
	cases := []struct {
		name, request string
		code          int
	}{
		{"bad Host", "GET / HTTP/1.1\r\nHost: exa mple.org\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", 400},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"2 MB of headers", "GET / HTTP/1.1\r\nHost: example.org\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", 431},
		{"absolute URL of another host", "GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n", 200},
	}
	for _, c := range cases {
		conn, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		_, _ = conn.Write([]byte(c.request))
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		conn.Close()
		if want := fmt.Sprintf("HTTP/1.1 %d ", c.code); !strings.HasPrefix(string(buf[:n]), want) {
			t.Errorf("%s: %q, want %q", c.name, firstLine(string(buf[:n])), want)
		}
	}
}
