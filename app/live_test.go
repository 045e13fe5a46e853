package main_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"site/internal/testkit"
)

// signInOwner signs owner@example.org in on site with a code read from
// logs (the worker's log sender prints it) and makes them admin with the
// setup link; the client carries the session.
func signInOwner(t *testing.T, site, link string, logs func() string) *http.Client {
	t.Helper()
	if !strings.HasPrefix(link, site+"/setup?token=") {
		t.Fatalf("no setup link (%q)", link)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	next := strings.TrimPrefix(link, site)
	resp, err := c.PostForm(site+"/signin", url.Values{"address": {"owner@example.org"}, "next": {next}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request a code: %v %v", err, resp)
	}
	resp.Body.Close()
	codeRE := regexp.MustCompile(`subject="Your sign-in code for [^"]*: (\d{6})"`)
	var code string
	testkit.WaitFor(t, 30*time.Second, "the sign-in code in the worker's log", func() bool {
		m := codeRE.FindStringSubmatch(logs())
		if m != nil {
			code = m[1]
		}
		return m != nil
	})
	resp, err = c.PostForm(site+"/signin/code", url.Values{"address": {"owner@example.org"}, "code": {code}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.PostForm(site+"/setup", url.Values{"token": {strings.TrimPrefix(link, site+"/setup?token=")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/admin" {
		t.Fatalf("after the setup link: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return c
}

// sessionOf is the session cookie c holds for site.
func sessionOf(t *testing.T, c *http.Client, site string) string {
	t.Helper()
	u, _ := url.Parse(site)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// publishPost writes and publishes a post through the admin panel.
func publishPost(t *testing.T, c *http.Client, site, slug, title string) {
	t.Helper()
	resp, err := c.PostForm(site+"/admin/posts/new", url.Values{"kind": {"post"}, "title": {title}, "slug": {slug},
		"body": {"Some words to read."}, "status": {"published"}, "action": {"save"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _ := get(t, site+"/posts/"+slug); code != 200 {
		t.Fatalf("the published post answers %d (the editor answered %d)", code, resp.StatusCode)
	}
}

// sseEvent is one event read from an SSE stream.
type sseEvent struct {
	ID         string
	Name, Data string
}

// readSSE opens the stream at u with c and sends its events on the
// channel until ctx ends.
func readSSE(t *testing.T, ctx context.Context, c *http.Client, u string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/event-stream")
	stream := *c
	stream.Timeout = 0
	resp, err := stream.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("stream %s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 1000)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.Data != "" {
					select {
					case out <- e:
					case <-ctx.Done():
						return
					}
				}
				e = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				e.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.Name = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.Data += line[6:]
			}
		}
	}()
	return out
}

// waitEvent waits up to d for an event of events that match says is the
// one, skipping others.
func waitEvent(t *testing.T, events <-chan sseEvent, d time.Duration, what string, match func(sseEvent) bool) sseEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended before %s", what)
			}
			if match(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s within %s", what, d)
		}
	}
}
