package web_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"site/app/analytics"
	"site/app/jobs"
	"site/app/web"
)

// formGroup is a feature mounted on the shell: one page and one form.
type formGroup struct {
	s      *web.Server
	posted int
}

func (g *formGroup) Routes() []web.Route {
	return []web.Route{
		{Pattern: "GET /group/page", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "group page", http.StatusOK)
		})},
		{Pattern: "POST /group/form", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.posted++
			w.WriteHeader(http.StatusNoContent)
		})},
		{Pattern: "GET /group/missing", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.s.NotFound(w, r)
		})},
	}
}

// TestGroupMounted: a group's routes get the shell's headers, its 404
// page, and its protection against cross-site posts.
func TestGroupMounted(t *testing.T) {
	g := &formGroup{}
	s, ts := MustSite(t, func(s *web.Server) { g.s = s; s.Groups = []web.Group{g} })
	resp, body := fetch(t, ts, "/group/page")
	if resp.StatusCode != 200 || !strings.Contains(body, "group page") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("group page: %d %q, CSP %q", resp.StatusCode, body, resp.Header.Get("Content-Security-Policy"))
	}
	if resp, body := fetch(t, ts, "/group/missing"); resp.StatusCode != 404 || !strings.Contains(body, "There is no page at this address") {
		t.Errorf("group 404: %d", resp.StatusCode)
	}
	post := func(header ...string) int {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/group/form", strings.NewReader("a=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", code)
	}
	if code := post("Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("POST with a foreign Origin = %d, want 403", code)
	}
	if g.posted != 0 {
		t.Fatalf("a cross-site post reached the handler %d times", g.posted)
	}
	if code := post("Sec-Fetch-Site", "same-origin"); code != http.StatusNoContent || g.posted != 1 {
		t.Errorf("same-origin POST = %d, handled %d times", code, g.posted)
	}
	var patterns []string
	for _, rt := range s.Routes() {
		patterns = append(patterns, rt.Pattern)
	}
	if !strings.Contains(strings.Join(patterns, "\n"), "POST /group/form") {
		t.Errorf("Routes lacks the group's: %q", patterns)
	}
}

// TestSignedInNeitherCachedNorCounted: a request with a session gets a
// page built for it, marked private, and is no page view; the same page
// read anonymously is cached and counted.
func TestSignedInNeitherCachedNorCounted(t *testing.T) {
	var mu sync.Mutex
	views := 0
	batcher := &analytics.Batcher{Enqueue: func(j jobs.Job) bool {
		mu.Lock()
		defer mu.Unlock()
		views += j.Count
		return true
	}}
	_, ts := MustSite(t, func(s *web.Server) {
		s.Views = batcher
		s.SignedIn = func(r *http.Request) bool { _, err := r.Cookie("session"); return err == nil }
	})
	counted := func() int {
		batcher.Flush()
		mu.Lock()
		defer mu.Unlock()
		return views
	}
	for range 3 {
		resp, body := fetch(t, ts, "/about", "Cookie", "session=x")
		if resp.StatusCode != 200 || !strings.Contains(body, "Ada Writer") || resp.Header.Get("Cache-Control") != "private, no-store" {
			t.Fatalf("signed in: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	if n := counted(); n != 0 {
		t.Fatalf("signed-in requests counted as %d page views", n)
	}
	for range 2 {
		if resp, _ := fetch(t, ts, "/about"); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("anonymous: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	if n := counted(); n != 2 {
		t.Errorf("anonymous requests counted as %d page views, want 2", n)
	}
}
