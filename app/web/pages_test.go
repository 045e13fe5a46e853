package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPagesGolden renders each page type and compares it with
// testdata/golden/NAME.html; SITE_UPDATE=1 rewrites the files.
func TestPagesGolden(t *testing.T) {
	_, ts := MustSite(t)
	cases := []struct {
		name, path string
		code       int
		has        []string
		hasNot     []string
	}{
		{"home", "/", 200, []string{"Hello, world", "SQLite in production", "A small tool", `"@type":"WebSite"`, `<link rel="alternate" type="application/rss+xml"`}, []string{"A draft", "Tomorrow"}},
		{"post", "/posts/hello-world", 200, []string{`<h2 id="why">Why <a class="anchor"`, `<span class="kd">func</span>`, "<table>", `class="footnotes"`,
			`"@type":"BlogPosting"`, `<meta property="og:type" content="article">`, `<link rel="canonical" href="https://example.org/posts/hello-world">`,
			`The first post &amp; its &lt;tags&gt;.`, `<a href="/tags/go" rel="tag">Go</a>`}, nil},
		{"project", "/projects/tool", 200, []string{`<img src="/media/projects/tool/cover-960.webp" srcset="/media/projects/tool/cover-480.webp 480w, /media/projects/tool/cover-960.webp 960w"`,
			`width="1600" height="900"`, `loading="lazy"`, `<meta property="og:image" content="https://example.org/media/projects/tool/cover-960.webp">`}, nil},
		{"posts", "/posts/", 200, []string{"Hello, world", "SQLite in production"}, []string{"A small tool", "A draft"}},
		{"projects", "/projects/", 200, []string{"A small tool"}, []string{"Hello, world"}},
		{"tag", "/tags/sqlite", 200, []string{"Tagged “SQLite”", "SQLite in production", `href="/tags/sqlite/feed.xml"`}, []string{"Hello, world"}},
		{"tags", "/tags/", 200, []string{`<a href="/tags/go">Go</a> <span class="count">2</span>`}, nil},
		{"archive", "/archive", 200, []string{"2024", "Hello, world", "SQLite in production"}, []string{"Tomorrow"}},
		{"search", "/search?q=readers+wal", 200, []string{"One result for", "<mark>WAL</mark>", "<mark>readers</mark>", `<meta name="robots" content="noindex">`}, nil},
		{"about", "/about", 200, []string{"I write about software", `aria-current="page"`}, nil},
		{"404", "/posts/no-such-post", 404, []string{"Page not found", `<meta name="robots" content="noindex">`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := fetch(t, ts, c.path)
			if resp.StatusCode != c.code {
				t.Fatalf("GET %s = %d, want %d", c.path, resp.StatusCode, c.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			for _, want := range c.has {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s lacks %s", c.path, want)
				}
			}
			for _, bad := range c.hasNot {
				if strings.Contains(body, bad) {
					t.Errorf("GET %s has %s", c.path, bad)
				}
			}
			for _, want := range []string{"<main id=\"main\">", `<html lang="en">`, "Skip to content", `<nav aria-label="Main">`} {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s lacks the layout's %s", c.path, want)
				}
			}
			golden := filepath.Join("testdata", "golden", c.name+".html")
			if os.Getenv("SITE_UPDATE") == "1" {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run SITE_UPDATE=1 go test ./app/web to write it)", err)
			}
			if body != string(want) {
				t.Errorf("GET %s differs from %s (SITE_UPDATE=1 rewrites it):\n%s", c.path, golden, firstDiff(body, string(want)))
			}
		})
	}
}

// firstDiff shows where two texts part.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-80)
	return "got:  …" + got[from:min(len(got), i+80)] + "\nwant: …" + want[from:min(len(want), i+80)]
}
