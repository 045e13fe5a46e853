package web_test

import (
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"site/app/content"
)

// TestFeeds parses each feed and checks the elements its format requires.
func TestFeeds(t *testing.T) {
	_, ts := MustSite(t)

	resp, body := fetch(t, ts, "/feed.xml")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/rss+xml") {
		t.Fatalf("RSS: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var rss struct {
		Version string `xml:"version,attr"`
		Channel struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			Items       []struct {
				Title       string   `xml:"title"`
				Link        string   `xml:"link"`
				GUID        string   `xml:"guid"`
				PubDate     string   `xml:"pubDate"`
				Description string   `xml:"description"`
				Category    []string `xml:"category"`
			} `xml:"item"`
		} `xml:"channel"`
	}
	if err := xml.Unmarshal([]byte(body), &rss); err != nil {
		t.Fatalf("RSS does not parse: %v", err)
	}
	c := rss.Channel
	if rss.Version != "2.0" || c.Title != "Test Site" || c.Link != "https://example.org/" || c.Description == "" || len(c.Items) != 2 {
		t.Fatalf("RSS channel: %+v", rss)
	}
	first := c.Items[0]
	if first.Title != "SQLite in production" || first.Link != "https://example.org/posts/sqlite-in-production" || first.GUID != first.Link ||
		!strings.Contains(first.Description, "<p>WAL mode") || len(first.Category) != 2 {
		t.Errorf("RSS item: %+v", first)
	}
	if _, err := time.Parse(time.RFC1123Z, first.PubDate); err != nil {
		t.Errorf("RSS pubDate: %v", err)
	}

	resp, body = fetch(t, ts, "/atom.xml")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("Atom: %d", resp.StatusCode)
	}
	var atom struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		ID      string   `xml:"id"`
		Title   string   `xml:"title"`
		Updated string   `xml:"updated"`
		Author  struct {
			Name string `xml:"name"`
		} `xml:"author"`
		Links []struct {
			Href string `xml:"href,attr"`
			Rel  string `xml:"rel,attr"`
		} `xml:"link"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Link    struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
			Content struct {
				Type string `xml:"type,attr"`
				Body string `xml:",chardata"`
			} `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(body), &atom); err != nil {
		t.Fatalf("Atom does not parse: %v", err)
	}
	if atom.ID == "" || atom.Title != "Test Site" || atom.Author.Name != "Ada Writer" || len(atom.Entries) != 2 {
		t.Fatalf("Atom feed: %+v", atom)
	}
	if _, err := time.Parse(time.RFC3339, atom.Updated); err != nil {
		t.Errorf("Atom updated: %v", err)
	}
	hasSelf := false
	for _, l := range atom.Links {
		hasSelf = hasSelf || (l.Rel == "self" && l.Href == "https://example.org/atom.xml")
	}
	if !hasSelf {
		t.Errorf("Atom has no rel=self link: %+v", atom.Links)
	}
	for _, e := range atom.Entries {
		if e.ID == "" || e.Title == "" || e.Link.Href == "" || e.Content.Type != "html" || e.Content.Body == "" {
			t.Errorf("Atom entry: %+v", e)
		}
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("Atom entry updated: %v", err)
		}
	}
	if atom.Entries[0].Updated != "2024-05-20T09:00:00Z" {
		t.Errorf("Atom entry updated = %s, want the post's update time", atom.Entries[0].Updated)
	}

	resp, body = fetch(t, ts, "/feed.json")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/feed+json") {
		t.Fatalf("JSON Feed: %d", resp.StatusCode)
	}
	dec := json.NewDecoder(strings.NewReader(body))
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("JSON Feed does not parse: %v", err)
	}
	if raw["version"] != "https://jsonfeed.org/version/1.1" || raw["title"] != "Test Site" || raw["home_page_url"] != "https://example.org/" ||
		raw["feed_url"] != "https://example.org/feed.json" {
		t.Fatalf("JSON Feed top level: %v", raw)
	}
	items, _ := raw["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("JSON Feed items: %v", items)
	}
	for _, it := range items {
		m := it.(map[string]any)
		if m["id"] == "" || m["content_html"] == "" || m["url"] == "" || m["date_published"] == nil {
			t.Errorf("JSON Feed item: %v", m)
		}
	}

	// A tag's feed holds the tag's posts only; an unknown tag has none.
	_, body = fetch(t, ts, "/tags/meta/feed.xml")
	if !strings.Contains(body, "Hello, world") || strings.Contains(body, "SQLite in production") {
		t.Errorf("tag feed:\n%s", body)
	}
	if resp, _ := fetch(t, ts, "/tags/nope/atom.xml"); resp.StatusCode != 404 {
		t.Errorf("feed of an unknown tag = %d", resp.StatusCode)
	}

	resp, body = fetch(t, ts, "/sitemap.xml")
	var sm struct {
		URLs []struct {
			Loc string `xml:"loc"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal([]byte(body), &sm); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sitemap: %d %v", resp.StatusCode, err)
	}
	locs := map[string]bool{}
	for _, u := range sm.URLs {
		locs[u.Loc] = true
	}
	for _, want := range []string{"https://example.org/", "https://example.org/posts/hello-world", "https://example.org/projects/tool", "https://example.org/tags/sqlite", "https://example.org/about"} {
		if !locs[want] {
			t.Errorf("sitemap lacks %s", want)
		}
	}
	for _, bad := range []string{"https://example.org/posts/draft", "https://example.org/posts/tomorrow"} {
		if locs[bad] {
			t.Errorf("sitemap has %s", bad)
		}
	}
	_, body = fetch(t, ts, "/robots.txt")
	if !strings.Contains(body, "Sitemap: https://example.org/sitemap.xml") {
		t.Errorf("robots.txt:\n%s", body)
	}
}

// TestJSONFeedCover: an item's image is its cover's variant, never the
// original (which keeps its metadata and is not served); a cover without
// variants yet gives the item no image.
func TestJSONFeedCover(t *testing.T) {
	s, ts := MustSite(t)
	ctx := t.Context()
	for _, p := range []*content.Post{
		{Kind: content.KindPost, Slug: "with-cover", Title: "With cover", Body: "x", Status: content.StatusPublished,
			PublishedAt: testNow.Add(-time.Hour), CoverImage: "projects/tool/cover.png"},
		{Kind: content.KindPost, Slug: "cover-waits", Title: "Cover waits", Body: "x", Status: content.StatusPublished,
			PublishedAt: testNow.Add(-2 * time.Hour), CoverImage: "posts/new/photo.jpg"},
	} {
		if _, err := s.Content.Save(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Content.SaveImage(ctx, content.Image{Key: "posts/new/photo.jpg", Width: 800, Height: 600}); err != nil {
		t.Fatal(err)
	}
	s.Invalidate()
	_, body := fetch(t, ts, "/feed.json")
	var feed struct {
		Items []struct{ URL, Image string } `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &feed); err != nil {
		t.Fatal(err)
	}
	images := map[string]string{}
	for _, it := range feed.Items {
		images[it.URL] = it.Image
	}
	if got := images["https://example.org/posts/with-cover"]; !strings.HasPrefix(got, "https://example.org/media/projects/tool/cover-") || !strings.HasSuffix(got, ".webp") {
		t.Errorf("cover image %q, want a variant", got)
	}
	if got := images["https://example.org/posts/cover-waits"]; got != "" {
		t.Errorf("cover without variants: image %q, want none", got)
	}
}
