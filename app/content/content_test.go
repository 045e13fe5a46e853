package content_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"site/app/content"
	"site/internal/testkit"
)

// clock is a settable time for scheduling tests.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// MustStore opens a fresh data.db in a temp dir with a settable clock.
func MustStore(tb testing.TB) (*content.Store, *clock) {
	tb.Helper()
	c := &clock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := content.NewStore(testkit.DataDB(tb))
	s.Now = c.Now
	return s, c
}

func mustSave(tb testing.TB, s *content.Store, p *content.Post) content.SaveResult {
	tb.Helper()
	r, err := s.Save(context.Background(), p)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestSaveIsIdempotentAndBumpsVersion(t *testing.T) {
	s, _ := MustStore(t)
	ctx := context.Background()
	v0, _ := s.Version(ctx)
	p := &content.Post{Kind: content.KindPost, Slug: "hello", Title: "Hello", Body: "Hi *there*",
		Status: content.StatusPublished, Tags: []content.Tag{{Name: "Go"}, {Name: "Web Dev"}}}
	if r := mustSave(t, s, p); r != content.Created {
		t.Fatalf("first save = %s", r)
	}
	v1, _ := s.Version(ctx)
	if v1 == v0 {
		t.Fatal("version did not change on create")
	}
	again := *p
	again.ID = 0
	if r := mustSave(t, s, &again); r != content.Unchanged {
		t.Fatalf("identical save = %s", r)
	}
	if v, _ := s.Version(ctx); v != v1 {
		t.Fatalf("version changed on a no-op save: %d → %d", v1, v)
	}
	again.Tags = []content.Tag{{Name: "Go"}}
	if r := mustSave(t, s, &again); r != content.Updated {
		t.Fatalf("tag change = %s", r)
	}
	got, err := s.Get(ctx, content.KindPost, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tags) != 1 || got.Tags[0].Slug != "go" {
		t.Fatalf("tags = %+v", got.Tags)
	}
	if v, _ := s.Version(ctx); v == v1 {
		t.Fatal("version did not change on a tag change")
	}
}

func TestDraftsHiddenScheduledAppearsAtItsTime(t *testing.T) {
	s, c := MustStore(t)
	ctx := context.Background()
	mustSave(t, s, &content.Post{Kind: content.KindPost, Slug: "draft", Title: "Draft", Status: content.StatusDraft})
	at := c.now.Add(time.Hour)
	mustSave(t, s, &content.Post{Kind: content.KindPost, Slug: "later", Title: "Later", Status: content.StatusScheduled, PublishedAt: at})
	if _, err := s.Get(ctx, content.KindPost, "draft"); err != content.ErrNotFound {
		t.Fatalf("draft visible: %v", err)
	}
	if _, err := s.Get(ctx, content.KindPost, "later"); err != content.ErrNotFound {
		t.Fatalf("scheduled post visible early: %v", err)
	}
	next, err := s.NextPublish(ctx)
	if err != nil || !next.Equal(at) {
		t.Fatalf("NextPublish = %v, %v; want %v", next, err, at)
	}
	c.now = at
	if _, err := s.Get(ctx, content.KindPost, "later"); err != nil {
		t.Fatalf("scheduled post not visible at its time: %v", err)
	}
	posts, total, err := s.List(ctx, content.Query{})
	if err != nil || total != 1 || posts[0].Slug != "later" {
		t.Fatalf("List = %d posts, %v", total, err)
	}
	if next, _ := s.NextPublish(ctx); !next.IsZero() {
		t.Fatalf("NextPublish after = %v", next)
	}
}

func TestBadPostsRefused(t *testing.T) {
	s, _ := MustStore(t)
	for _, p := range []content.Post{
		{Kind: "essay", Slug: "a", Title: "A", Status: content.StatusDraft},
		{Kind: content.KindPost, Slug: "Bad Slug", Title: "A", Status: content.StatusDraft},
		{Kind: content.KindPost, Slug: "../x", Title: "A", Status: content.StatusDraft},
		{Kind: content.KindPost, Slug: "a", Title: " ", Status: content.StatusDraft},
		{Kind: content.KindPost, Slug: "a", Title: "A", Status: "live"},
	} {
		if _, err := s.Save(context.Background(), &p); err == nil {
			t.Errorf("saved %+v", p)
		}
	}
}

func TestSearchHighlights(t *testing.T) {
	s, _ := MustStore(t)
	mustSave(t, s, &content.Post{Kind: content.KindPost, Slug: "sqlite", Title: "Running SQLite in production",
		Body: "We run **SQLite** with WAL & <b>Litestream</b> replication.", Status: content.StatusPublished})
	mustSave(t, s, &content.Post{Kind: content.KindPost, Slug: "other", Title: "Gardening", Body: "Tomatoes.", Status: content.StatusPublished})
	mustSave(t, s, &content.Post{Kind: content.KindPost, Slug: "secret", Title: "Litestream draft", Status: content.StatusDraft})
	hits, err := s.Search(context.Background(), `(litestream"`, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Post.Slug != "sqlite" {
		t.Fatalf("hits = %+v", hits)
	}
	if !strings.Contains(hits[0].SnippetHTML, "<mark>Litestream</mark>") || strings.Contains(hits[0].SnippetHTML, "<b>") {
		t.Fatalf("snippet = %q", hits[0].SnippetHTML)
	}
	if hits, _ := s.Search(context.Background(), "run", 10); len(hits) != 1 || !strings.Contains(hits[0].TitleHTML, "<mark>Running</mark>") {
		t.Fatalf("stemmed prefix search = %+v", hits)
	}
	if hits, err := s.Search(context.Background(), `"*():`, 10); err != nil || len(hits) != 0 {
		t.Fatalf("punctuation search = %v, %v", hits, err)
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{"Hello, World!": "hello-world", "Crème brûlée": "creme-brulee", "  Go 1.26  ": "go-1-26", "日本": ""} {
		if got := content.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidKey(t *testing.T) {
	for key, want := range map[string]bool{"a/b.jpg": true, "posts/x-1/p_2.webp": true, "../etc/passwd": false,
		"/abs": false, "a//b": false, "a/./b": false, "a b": false, "a/%2e%2e": false, "": false, "a\\b": false} {
		if got := content.ValidKey(key); got != want {
			t.Errorf("ValidKey(%q) = %v", key, got)
		}
	}
}

// TestHighlightCSSCommitted keeps assets/static/code.css equal to
// HighlightCSS; run with SITE_UPDATE=1 to rewrite it.
func TestHighlightCSSCommitted(t *testing.T) {
	path := filepath.Join("..", "..", "assets", "static", "code.css")
	want := content.HighlightCSS()
	if os.Getenv("SITE_UPDATE") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s is not the output of HighlightCSS (err %v); run SITE_UPDATE=1 go test ./app/content", path, err)
	}
	if !strings.Contains(want, "prefers-color-scheme: dark") || !strings.Contains(want, ".chroma .k") {
		t.Fatal("highlight CSS lacks the dark block or keyword class")
	}
}
