package importer_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"site/app/comments"
	"site/app/comments/importer"
	"site/app/content"
	"site/app/store"
	"site/internal/testkit"
)

// site is a data.db with the entries the fixtures' threads are about.
type site struct {
	db       *store.DB
	content  *content.Store
	comments *comments.Store
	ids      map[string]int64 // entry path → id
}

func newSite(t *testing.T) *site {
	t.Helper()
	db := testkit.DataDB(t)
	s := &site{db: db, content: content.NewStore(db), comments: comments.NewStore(db), ids: map[string]int64{}}
	for _, p := range []*content.Post{
		{Kind: content.KindPost, Slug: "hello-world", Title: "Hello world", Status: content.StatusPublished},
		{Kind: content.KindPost, Slug: "second-post", Title: "Second post", Status: content.StatusPublished},
		{Kind: content.KindPage, Slug: "about", Title: "About", Status: content.StatusPublished},
	} {
		if _, err := s.content.Save(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		s.ids[p.Path()] = p.ID
	}
	return s
}

func (s *site) importFile(t *testing.T, file string) (importer.Report, string) {
	t.Helper()
	var out bytes.Buffer
	im := &importer.Importer{Comments: s.comments, Content: s.content, Out: &out, Every: 2}
	rep, err := im.Import(t.Context(), filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("import %s: %v", file, err)
	}
	return rep, out.String()
}

// stored is an imported comment as data.db holds it.
type stored struct {
	id, post, parent int64
	author, body     string
	html, status     string
	created          int64
}

func (s *site) bySource(t *testing.T, source string) map[string]stored {
	t.Helper()
	rows, err := s.db.Read.QueryContext(t.Context(), `SELECT source_id, id, post_id, coalesce(parent_id, 0), author, body, html, status, created_at
		FROM comments WHERE source = ?`, source)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]stored{}
	for rows.Next() {
		var key string
		var c stored
		if err := rows.Scan(&key, &c.id, &c.post, &c.parent, &c.author, &c.body, &c.html, &c.status, &c.created); err != nil {
			t.Fatal(err)
		}
		out[key] = c
	}
	return out
}

// noScript fails when html could run anything or show anything but text
// and links.
func noScript(t *testing.T, what, html string) {
	t.Helper()
	lower := strings.ToLower(html)
	for _, bad := range []string{"<script", "onerror", "onclick", "onload", "javascript", "<img", "<svg", "<style", "<iframe", "style="} {
		if strings.Contains(lower, bad) {
			t.Errorf("%s: %q survived sanitizing: %s", what, bad, html)
		}
	}
}

func TestImportDisqus(t *testing.T) {
	s := newSite(t)
	rep, out := s.importFile(t, "disqus.xml")
	t.Logf("report: %s", rep)
	if rep.Format != importer.Disqus || rep.Comments != 10 || rep.Threads != 3 || rep.Matched != 2 || len(rep.Unmatched) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Added != 7 || rep.Held != 0 || rep.Existing != 0 || rep.Skipped[importer.Spam] != 1 || rep.Skipped[importer.Deleted] != 1 ||
		rep.InUnmatched != 1 || rep.Flattened != 1 || rep.Orphans != 2 {
		t.Errorf("report %+v", rep)
	}
	u := rep.Unmatched[0]
	if u.Title != "A post this site never had" || u.Comments != 1 || u.Line == 0 ||
		!strings.Contains(u.Reason, "no entry at /2018/01/never-written") || !strings.Contains(u.Reason, "no post, project or page with slug never-written") {
		t.Errorf("unmatched %+v", u)
	}
	if !strings.Contains(out, "2 of 10 comments") || !strings.Contains(out, "6 of 10 comments") {
		t.Errorf("progress lines: %q", out)
	}
	got := s.bySource(t, comments.SourceDisqus)
	if len(got) != 7 {
		t.Fatalf("%d stored: %v", len(got), got)
	}
	hello, second := s.ids["/posts/hello-world"], s.ids["/posts/second-post"]
	ann := got["300"]
	checks := []struct {
		id           string
		post, parent int64
	}{
		{"300", hello, 0},
		{"301", hello, ann.id},
		{"302", hello, ann.id}, // a reply to a reply joins the top-level comment
		{"305", hello, 0},      // its parent was spam
		{"309", hello, 0},      // its parent's thread was another
		{"307", second, 0},
		{"306", second, got["307"].id}, // came before its parent in the file
	}
	for _, c := range checks {
		g, ok := got[c.id]
		if !ok || g.post != c.post || g.parent != c.parent || g.status != "approved" {
			t.Errorf("comment %s: %+v, want post %d parent %d approved", c.id, g, c.post, c.parent)
		}
	}
	if ann.author != "Ann" || ann.created != 1556794800 ||
		ann.html != `<p>Great post! See <a rel="nofollow ugc noopener" href="https://example.org/more">more</a>.</p>` ||
		ann.body != "Great post! See more." {
		t.Errorf("Ann's comment: %+v", ann)
	}
	m := got["307"]
	noScript(t, "Mallory's comment", m.html)
	if !strings.Contains(m.html, `href="https://ok.example/"`) || !strings.Contains(m.html, "click") || m.author != "Mallory <script>" {
		t.Errorf("Mallory's comment: %+v", m)
	}
	var count int
	if err := s.db.Read.QueryRow(`SELECT comment_count FROM posts WHERE id = ?`, hello).Scan(&count); err != nil || count != 5 {
		t.Errorf("hello-world's comment_count = %d, %v; want 5", count, err)
	}

	// A second run adds nothing.
	again, _ := s.importFile(t, "disqus.xml")
	if again.Added != 0 || again.Existing != 7 || len(s.bySource(t, comments.SourceDisqus)) != 7 {
		t.Errorf("second run: %+v", again)
	}
}

func TestImportWXR(t *testing.T) {
	s := newSite(t)
	rep, _ := s.importFile(t, "wxr.xml")
	t.Logf("report: %s", rep)
	if rep.Format != importer.WXR || rep.Comments != 10 || rep.Threads != 3 || rep.Matched != 2 || len(rep.Unmatched) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Added != 6 || rep.Held != 1 || rep.Skipped[importer.Spam] != 1 || rep.Skipped[importer.Deleted] != 1 ||
		rep.Skipped[importer.NotComment] != 1 || rep.InUnmatched != 1 || rep.Flattened != 1 || rep.Orphans != 0 {
		t.Errorf("report %+v", rep)
	}
	if u := rep.Unmatched[0]; u.Title != "Lost post" || !strings.Contains(u.Reason, "slug lost-post") {
		t.Errorf("unmatched %+v", u)
	}
	for _, want := range []string{"skipped 1 spam, 1 deleted, 1 pingback or trackback, 1 on unmatched threads", "6 added (1 held)"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("summary %q lacks %q", rep, want)
		}
	}
	got := s.bySource(t, comments.SourceWXR)
	hello, about := s.ids["/posts/hello-world"], s.ids["/about"]
	first := got["11"]
	if first.post != hello || first.parent != 0 || first.status != "approved" || first.created != 1556794800 ||
		first.html != "<p>First paragraph &amp; more.</p>\n<p>Second paragraph,<br>\nwith a line break.</p>" ||
		first.body != "First paragraph & more.\n\nSecond paragraph,\nwith a line break." {
		t.Errorf("comment 11: %+v", first)
	}
	if got["12"].parent != first.id || got["13"].parent != first.id {
		t.Errorf("replies: 12 %+v, 13 %+v; want parent %d", got["12"], got["13"], first.id)
	}
	if got["13"].created != 1556805600 {
		t.Errorf("comment 13 without a GMT date: created %d, want its local date as UTC", got["13"].created)
	}
	if got["15"].status != "held" {
		t.Errorf("pending comment 15: %+v, want held", got["15"])
	}
	if got["21"].post != about {
		t.Errorf("comment 21 on the page: %+v", got["21"])
	}
	noScript(t, "comment 18", got["18"].html)
	if strings.Contains(got["18"].html, "tab</a>") && strings.Contains(got["18"].html, "ascript") {
		t.Errorf("comment 18 keeps the tab-split javascript: link: %s", got["18"].html)
	}
	for _, id := range []string{"14", "16", "17", "31"} {
		if _, ok := got[id]; ok {
			t.Errorf("comment %s imported", id)
		}
	}
	again, _ := s.importFile(t, "wxr.xml")
	if again.Added != 0 || again.Existing != 6 {
		t.Errorf("second run: %+v", again)
	}
}

// TestImportRefusesMalformed: a file that is not a well-formed export is
// refused with its line, and nothing is stored.
func TestImportRefusesMalformed(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	cases := map[string]struct{ body, want string }{
		"markup inside a text element": {"", "malformed.xml: line 4"},
		"cut short": {`<?xml version="1.0"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
  <thread dsq:id="1"><link>https://x.example/posts/hello-world</link></thread>
  <post dsq:id="2"><message>hi</message><thread dsq:id="1"/></post>
`, "ends before its root element is closed"},
		"not XML":       {"id,author,text\n1,Ann,hello\n", "holds no XML element"},
		"bad nesting":   {"<disqus>\n<thread dsq:id=\"1\">\n</post>\n</disqus>\n", "line 3: malformed XML"},
		"another XML":   {`<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>`, "root element is <feed>"},
		"plain RSS":     {`<rss version="2.0"><channel><title>x</title><item><title>a</title></item></channel></rss>`, "not a WordPress export"},
		"bad date":      {"<disqus>\n<thread dsq:id=\"1\"><link>https://x.example/posts/hello-world</link></thread>\n<post dsq:id=\"2\"><createdAt>yesterday</createdAt><thread dsq:id=\"1\"/></post>\n</disqus>", "line 3"},
		"latin1 others": {"<?xml version=\"1.0\" encoding=\"shift_jis\"?><disqus></disqus>", "encoding \"shift_jis\" is not supported"},
	}
	for name, c := range cases {
		path := filepath.Join("testdata", "malformed.xml")
		if c.body != "" {
			path = filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".xml")
			if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		im := &importer.Importer{Comments: s.comments, Content: s.content}
		_, err := im.Import(t.Context(), path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
		var pe *importer.PosError
		if err != nil && !errors.As(err, &pe) && name != "latin1 others" && name != "not XML" {
			t.Errorf("%s: %v is not a PosError", name, err)
		}
	}
	var n int
	if err := s.db.Read.QueryRow(`SELECT count(*) FROM comments`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d comments stored from malformed files (%v)", n, err)
	}
}
