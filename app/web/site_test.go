package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"site/app/content"
	"site/app/web"
	"site/internal/testkit"
)

// testNow is the clock of the seeded content: every seeded post is older.
var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

// MustSite returns a web.Server over a fresh data.db seeded with a few
// entries, served by httptest. The configure funcs set fields before the
// server starts serving (setting them afterwards races with requests).
func MustSite(tb testing.TB, configure ...func(*web.Server)) (*web.Server, *httptest.Server) {
	tb.Helper()
	s := newSite(tb, configure...)
	ts := httptest.NewServer(s.Handler())
	tb.Cleanup(ts.Close)
	return s, ts
}

// newSite is MustSite's web.Server before it serves.
func newSite(tb testing.TB, configure ...func(*web.Server)) *web.Server {
	tb.Helper()
	cs := content.NewStore(testkit.DataDB(tb))
	cs.Now = func() time.Time { return testNow }
	seed(tb, cs)
	s := web.NewServer()
	s.SiteName, s.Description, s.Author = "Test Site", "Notes on building small, durable software.", "Ada Writer"
	s.BaseURL = "https://example.org"
	s.Content = cs
	s.CacheCheck = 0
	s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, f := range configure {
		f(s)
	}
	return s
}

func seed(tb testing.TB, cs *content.Store) {
	tb.Helper()
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2024, 5, d, 9, 0, 0, 0, time.UTC) }
	if err := cs.SaveImage(ctx, content.Image{Key: "projects/tool/cover.png", Width: 1600, Height: 900}); err != nil {
		tb.Fatal(err)
	}
	for _, v := range []struct{ w, h int }{{480, 270}, {960, 540}} {
		if _, err := cs.DB.Write.Exec(`INSERT INTO image_variants VALUES ('projects/tool/cover.png', ?, ?, 'webp', ?, 100)`,
			v.w, v.h, "projects/tool/cover-"+strconv.Itoa(v.w)+".webp"); err != nil {
			tb.Fatal(err)
		}
	}
	posts := []*content.Post{
		{Kind: content.KindPost, Slug: "hello-world", Title: "Hello, world", Summary: "The first post & its <tags>.",
			Body:   "Welcome to the site.\n\n## Why\n\nBecause `small` is good.\n\n```go\nfunc main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nA note[^1].\n\n[^1]: The note.\n",
			Status: content.StatusPublished, PublishedAt: day(1), Tags: []content.Tag{{Name: "Go"}, {Name: "Meta"}}},
		{Kind: content.KindPost, Slug: "sqlite-in-production", Title: "SQLite in production", Summary: "One file, many readers.",
			Body: "WAL mode lets readers run beside the writer. Litestream ships the WAL.\n", Status: content.StatusPublished,
			PublishedAt: day(10), UpdatedAt: day(20), Tags: []content.Tag{{Name: "Go"}, {Name: "SQLite"}}},
		{Kind: content.KindPost, Slug: "draft", Title: "A draft", Body: "Secret draft words.", Status: content.StatusDraft},
		{Kind: content.KindPost, Slug: "tomorrow", Title: "Tomorrow", Body: "Scheduled words.", Status: content.StatusScheduled,
			PublishedAt: testNow.Add(24 * time.Hour)},
		{Kind: content.KindProject, Slug: "tool", Title: "A small tool", Summary: "Does one thing well.", Featured: true,
			CoverImage: "projects/tool/cover.png", Body: "It reads files.\n\n![The tool](/media/projects/tool/cover.png)\n",
			Status: content.StatusPublished, PublishedAt: day(5), Tags: []content.Tag{{Name: "Go"}}},
		{Kind: content.KindPage, Slug: "about", Title: "About", Body: "I write about software that runs on one machine.\n",
			Status: content.StatusPublished, PublishedAt: day(1)},
	}
	for _, p := range posts {
		if _, err := cs.Save(ctx, p); err != nil {
			tb.Fatal(err)
		}
	}
}

// fetch GETs path with headers and returns the response and its body.
func fetch(tb testing.TB, ts *httptest.Server, path string, header ...string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{DisableCompression: true}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, string(body)
}
