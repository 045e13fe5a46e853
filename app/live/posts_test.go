package live_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"site/app/content"
	"site/app/events"
	"site/app/jobs"
	"site/app/live"
	"site/app/web"
	"site/internal/testkit"
)

// postStream is an open GET /live/posts/{slug}.
type postStream struct {
	sc *bufio.Scanner
}

// next returns the next event's name, id and data.
func (s *postStream) next(t *testing.T) (name, id, data string) {
	t.Helper()
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && data != "":
			return name, id, data
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
	t.Fatalf("the stream ended: %v", s.sc.Err())
	return
}

// readers waits for the stream's next reader count.
func (s *postStream) readers(t *testing.T) int {
	t.Helper()
	for {
		name, _, data := s.next(t)
		if name != live.TopicReaders {
			continue
		}
		var r struct {
			Post  string
			Count int
		}
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			t.Fatal(err)
		}
		return r.Count
	}
}

// TestPostStreams: a published post's stream counts its readers and
// carries its comments, stored with their sequence as id; a draft, a
// scheduled post, an unknown one and a slug that is no subject token have
// no stream (404), and without a hub the stream says live updates are off.
func TestPostStreams(t *testing.T) {
	b := testkit.NATS(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := jobs.EnsureStreams(ctx, b.JetStream); err != nil {
		t.Fatal(err)
	}
	store := content.NewStore(testkit.DataDB(t))
	for _, p := range []*content.Post{
		{Kind: content.KindPost, Slug: "hello", Title: "Hello", Body: "Hi.", Status: content.StatusPublished},
		{Kind: content.KindPost, Slug: "draft", Title: "Draft", Body: "Hi.", Status: content.StatusDraft},
		{Kind: content.KindPost, Slug: "later", Title: "Later", Body: "Hi.", Status: content.StatusScheduled, PublishedAt: time.Now().Add(time.Hour)},
		{Kind: content.KindProject, Slug: "tool", Title: "Tool", Body: "Hi.", Status: content.StatusPublished},
	} {
		if _, err := store.Save(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	hub, err := live.New(live.Config{NC: b.Conn, JS: b.JetStream, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	serve := func(h *live.Hub) string {
		shell := web.NewServer()
		shell.Logger, shell.Content = logger, store
		shell.Groups = []web.Group{&live.Posts{Hub: h, Content: store}}
		ts := httptest.NewServer(shell.Handler())
		t.Cleanup(ts.Close)
		return ts.URL
	}
	site := serve(hub)
	open := func(path string) (*http.Response, *postStream) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, site+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, &postStream{sc: bufio.NewScanner(resp.Body)}
	}

	resp, first := open("/live/posts/hello")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream of a published post: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if n := first.readers(t); n != 1 {
		t.Errorf("alone, the reader count is %d, want 1", n)
	}
	second, other := open("/live/posts/hello")
	if n := first.readers(t); n != 2 {
		t.Errorf("with a second reader, the first stream says %d, want 2", n)
	}
	if n := other.readers(t); n != 2 {
		t.Errorf("the second stream says %d, want 2", n)
	}
	second.Body.Close()
	if n := first.readers(t); n != 1 {
		t.Errorf("after the second left, the count is %d, want 1", n)
	}

	// A comment on the post reaches its stream, not another post's.
	if err := events.Publish(b.Conn, events.Comment{ID: "c1", Post: "other", Author: "Bo", Body: "Elsewhere."}); err != nil {
		t.Fatal(err)
	}
	if err := events.Publish(b.Conn, events.Comment{ID: "c2", Post: "hello", Author: "Ann", Body: "Nice."}); err != nil {
		t.Fatal(err)
	}
	for {
		name, id, data := first.next(t)
		if name == live.TopicReaders {
			continue
		}
		var c events.Comment
		if name != "events.comments.hello" || id == "" || json.Unmarshal([]byte(data), &c) != nil || c.ID != "c2" {
			t.Fatalf("got %s (id %q) %s; want the comment c2 on events.comments.hello with an id", name, id, data)
		}
		break
	}

	for _, path := range []string{"/live/posts/draft", "/live/posts/later", "/live/posts/nope", "/live/posts/tool", "/live/posts/a.b", "/live/posts/a%2Ab"} {
		resp, _ := open(path)
		if resp.StatusCode != http.StatusNotFound {
			body, _ := io.ReadAll(resp.Body)
			t.Errorf("%s: %d %s, want 404", path, resp.StatusCode, body)
		}
	}
	off := serve(nil)
	resp, err = http.Get(off + "/live/posts/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "Live updates are off") {
		t.Errorf("without a hub: %d %s", resp.StatusCode, body)
	}
}
