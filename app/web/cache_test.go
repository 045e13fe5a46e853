package web_test

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"site/app/content"
	"site/app/web"
	"site/internal/testkit"
)

// TestETagCompressionAndInvalidation: a cached page answers 304 to its
// ETag, comes gzip or brotli as asked, and changes once its post does.
func TestETagCompressionAndInvalidation(t *testing.T) {
	s, ts := MustSite(t)
	resp, plain := fetch(t, ts, "/posts/hello-world")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || etag == "" || resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("plain GET: %d etag %q cc %q ce %q", resp.StatusCode, etag, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Encoding"))
	}
	if resp, body := fetch(t, ts, "/posts/hello-world", "If-None-Match", etag); resp.StatusCode != 304 || body != "" {
		t.Fatalf("revalidation = %d with %d bytes", resp.StatusCode, len(body))
	}

	resp, gz := fetch(t, ts, "/posts/hello-world", "Accept-Encoding", "gzip, deflate")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: %v", resp.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != plain {
		t.Fatal("gzip body differs from the plain one")
	}
	if r2, _ := fetch(t, ts, "/posts/hello-world", "Accept-Encoding", "gzip", "If-None-Match", resp.Header.Get("ETag")); r2.StatusCode != 304 {
		t.Errorf("revalidation of the gzip ETag = %d", r2.StatusCode)
	}
	resp, br := fetch(t, ts, "/posts/hello-world", "Accept-Encoding", "gzip, br")
	if resp.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("brotli: %v", resp.Header)
	}
	if b, _ := io.ReadAll(brotli.NewReader(strings.NewReader(br))); string(b) != plain {
		t.Fatal("brotli body differs from the plain one")
	}
	if resp, _ := fetch(t, ts, "/posts/hello-world", "Accept-Encoding", "br;q=0, gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("q=0 ignored: %v", resp.Header.Get("Content-Encoding"))
	}

	// Edit the post: the page changes, the old ETag no longer matches.
	p, err := s.Content.GetAny(context.Background(), content.KindPost, "hello-world")
	if err != nil {
		t.Fatal(err)
	}
	p.Body += "\nAn added line.\n"
	if _, err := s.Content.Save(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	resp, body := fetch(t, ts, "/posts/hello-world", "If-None-Match", etag)
	if resp.StatusCode != 200 || !strings.Contains(body, "An added line.") || resp.Header.Get("ETag") == etag {
		t.Fatalf("after an edit: %d, new ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	// Assets: hashed names, cached for a year.
	if resp, _ := fetch(t, ts, "/favicon.ico"); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := fetch(t, ts, "/posts"); resp.StatusCode != 301 || resp.Header.Get("Location") != "/posts/" {
		t.Errorf("/posts = %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestScheduledPostAppearsOnTime: no write happens, no restart: the cache
// itself notices the publish time passing.
func TestScheduledPostAppearsOnTime(t *testing.T) {
	cs := content.NewStore(testkit.DataDB(t))
	at := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	for _, p := range []*content.Post{
		{Kind: content.KindPost, Slug: "now", Title: "Already out", Status: content.StatusPublished, PublishedAt: time.Now().Add(-time.Hour)},
		{Kind: content.KindPost, Slug: "soon", Title: "Coming soon", Status: content.StatusScheduled, PublishedAt: at},
	} {
		if _, err := cs.Save(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	s := web.NewServer()
	s.Content, s.CacheCheck = cs, time.Hour // only the publish time may refresh the cache
	s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	if _, body := fetch(t, ts, "/"); strings.Contains(body, "Coming soon") || !strings.Contains(body, "Already out") {
		t.Fatal("home before the time is wrong")
	}
	if resp, _ := fetch(t, ts, "/posts/soon"); resp.StatusCode != 404 {
		t.Fatalf("scheduled post before its time = %d", resp.StatusCode)
	}
	time.Sleep(time.Until(at) + 50*time.Millisecond)
	if _, body := fetch(t, ts, "/"); !strings.Contains(body, "Coming soon") {
		t.Fatal("scheduled post not on the home page after its time")
	}
	if resp, _ := fetch(t, ts, "/posts/soon"); resp.StatusCode != 200 {
		t.Fatalf("scheduled post after its time = %d", resp.StatusCode)
	}
}

// TestPagesAreCached: within the version-check interval a page comes from
// memory (a change made behind the store's back does not show); Invalidate
// or the next version check brings the change.
func TestPagesAreCached(t *testing.T) {
	s, ts := MustSite(t, func(s *web.Server) { s.CacheCheck = time.Hour })
	s.Invalidate()
	if _, body := fetch(t, ts, "/posts/hello-world"); !strings.Contains(body, "Welcome to the site.") {
		t.Fatal("first GET lacks the body")
	}
	if _, err := s.Content.DB.Write.Exec(`UPDATE posts SET body = 'Rewritten.' WHERE slug = 'hello-world'`); err != nil {
		t.Fatal(err)
	}
	if _, body := fetch(t, ts, "/posts/hello-world"); !strings.Contains(body, "Welcome to the site.") {
		t.Fatal("second GET was rendered again: the page is not cached")
	}
	s.Invalidate()
	if _, body := fetch(t, ts, "/posts/hello-world"); !strings.Contains(body, "Rewritten.") {
		t.Fatal("after Invalidate the page is still the old one")
	}
}
