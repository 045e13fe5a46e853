package content_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"site/app/content"
)

func redirectOf(tb testing.TB, s *content.Store, path string) string {
	tb.Helper()
	to, err := s.Redirect(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	return to
}

// TestUpdateLeavesRedirects: renaming a published entry leaves a redirect
// from its old path; chains collapse; an entry taking an old path removes
// its redirect; a draft renamed leaves none; deleting drops redirects to it.
func TestUpdateLeavesRedirects(t *testing.T) {
	s, _ := MustStore(t)
	ctx := context.Background()
	p := &content.Post{Kind: content.KindPost, Slug: "a", Title: "A", Status: content.StatusPublished}
	if err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	rename := func(kind content.Kind, slug string) {
		t.Helper()
		q := *p
		q.Kind, q.Slug = kind, slug
		if _, res, err := s.Update(ctx, &q); err != nil || res != content.Updated {
			t.Fatalf("rename to %s: %v %s", slug, err, res)
		}
		*p = q
	}
	rename(content.KindPost, "b")
	if got := redirectOf(t, s, "/posts/a"); got != "/posts/b" {
		t.Fatalf("/posts/a → %q", got)
	}
	rename(content.KindProject, "c")
	for _, from := range []string{"/posts/a", "/posts/b"} {
		if got := redirectOf(t, s, from); got != "/projects/c" {
			t.Errorf("%s → %q, want /projects/c", from, got)
		}
	}
	// Back to an old path: no redirect from the path it now has, none to itself.
	rename(content.KindPost, "a")
	if got := redirectOf(t, s, "/posts/a"); got != "" {
		t.Errorf("/posts/a still redirects to %q", got)
	}
	if got := redirectOf(t, s, "/projects/c"); got != "/posts/a" {
		t.Errorf("/projects/c → %q", got)
	}
	// A new entry at /posts/b takes it over.
	if err := s.Create(ctx, &content.Post{Kind: content.KindPost, Slug: "b", Title: "B", Status: content.StatusDraft}); err != nil {
		t.Fatal(err)
	}
	if got := redirectOf(t, s, "/posts/b"); got != "" {
		t.Errorf("/posts/b taken, still redirects to %q", got)
	}
	// The same slug as another entry of the kind is refused.
	q := *p
	q.Slug = "b"
	if _, _, err := s.Update(ctx, &q); !errors.Is(err, content.ErrSlugTaken) {
		t.Errorf("taking another entry's slug: %v", err)
	}
	// A draft leaves no redirect behind.
	d := &content.Post{Kind: content.KindPost, Slug: "draft", Title: "D", Status: content.StatusDraft}
	if err := s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.Slug = "draft-2"
	if _, _, err := s.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := redirectOf(t, s, "/posts/draft"); got != "" {
		t.Errorf("draft renamed left %q", got)
	}
	if _, err := s.DeleteByID(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if got := redirectOf(t, s, "/projects/c"); got != "" {
		t.Errorf("redirect to a deleted entry kept: %q", got)
	}
	if _, err := s.DeleteByID(ctx, p.ID); !errors.Is(err, content.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// TestUpdateUnchanged writes nothing when nothing changed.
func TestUpdateUnchanged(t *testing.T) {
	s, c := MustStore(t)
	ctx := context.Background()
	p := &content.Post{Kind: content.KindPost, Slug: "a", Title: "A", Status: content.StatusPublished,
		Tags: content.ParseTags("Go, web dev, go")}
	if err := s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if len(p.Tags) != 2 {
		t.Fatalf("tags %v", p.Tags)
	}
	v, _ := s.Version(ctx)
	c.now = c.now.Add(time.Hour)
	q := *p
	if old, res, err := s.Update(ctx, &q); err != nil || res != content.Unchanged || old.Title != "A" {
		t.Fatalf("no-op update: %v %s", err, res)
	}
	if v2, _ := s.Version(ctx); v2 != v {
		t.Error("no-op update bumped the version")
	}
	q.Tags = content.ParseTags("go")
	if _, res, err := s.Update(ctx, &q); err != nil || res != content.Updated || !q.UpdatedAt.Equal(c.now) {
		t.Fatalf("tag change: %v %s %v", err, res, q.UpdatedAt)
	}
	got, err := s.GetByID(ctx, p.ID)
	if err != nil || len(got.Tags) != 1 || !got.UpdatedAt.Equal(c.now) {
		t.Fatalf("after tag change: %v %+v", err, got)
	}
}

func TestProblems(t *testing.T) {
	cases := []struct {
		post  content.Post
		field string
	}{
		{content.Post{Kind: "x", Slug: "a", Title: "A", Status: "draft"}, "kind"},
		{content.Post{Kind: "post", Slug: "a", Title: "A", Status: "gone"}, "status"},
		{content.Post{Kind: "post", Slug: "a", Title: " ", Status: "draft"}, "title"},
		{content.Post{Kind: "post", Slug: "a", Title: strings.Repeat("é", content.MaxTitle+1), Status: "draft"}, "title"},
		{content.Post{Kind: "post", Slug: "A b", Title: "A", Status: "draft"}, "slug"},
		{content.Post{Kind: "post", Slug: "", Title: "A", Status: "draft"}, "slug"},
		{content.Post{Kind: "post", Slug: "a", Title: "A", Status: "scheduled"}, "published_at"},
		{content.Post{Kind: "post", Slug: "a", Title: "A", Status: "draft", Body: strings.Repeat("x", content.MaxBody+1)}, "body"},
		{content.Post{Kind: "post", Slug: "a", Title: "A", Status: "draft", Tags: content.ParseTags("ok, ###")}, "tags"},
	}
	for _, c := range cases {
		got := c.post.Problems()
		if len(got) != 1 || got[c.field] == "" {
			t.Errorf("%+v: problems %v, want one on %s", c.post.Title, got, c.field)
		}
	}
	ok := content.Post{Kind: "page", Slug: "about-me", Title: "About", Status: "published"}
	if got := ok.Problems(); len(got) != 0 {
		t.Errorf("good entry: %v", got)
	}
}

// TestListAll filters by state, kind, tag and words, newest change first.
func TestListAll(t *testing.T) {
	s, c := MustStore(t)
	ctx := context.Background()
	add := func(kind content.Kind, slug string, status content.Status, at time.Time, tags, body string) {
		t.Helper()
		c.now = c.now.Add(time.Minute)
		p := &content.Post{Kind: kind, Slug: slug, Title: strings.ToUpper(slug), Status: status, PublishedAt: at,
			Body: body, Tags: content.ParseTags(tags)}
		if err := s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	past, future := c.now.Add(-time.Hour), c.now.Add(48*time.Hour)
	add(content.KindPost, "one", content.StatusPublished, past, "go", "about sqlite")
	add(content.KindPost, "two", content.StatusDraft, time.Time{}, "go, web", "about writing")
	add(content.KindProject, "three", content.StatusScheduled, future, "web", "a tool")
	add(content.KindPage, "four", content.StatusPublished, past, "", "sqlite again")
	cases := []struct {
		q    content.AllQuery
		want string
	}{
		{content.AllQuery{}, "four three two one"},
		{content.AllQuery{State: content.StatusDraft}, "two"},
		{content.AllQuery{State: content.StatusScheduled}, "three"},
		{content.AllQuery{State: content.StatusPublished}, "four one"},
		{content.AllQuery{Kind: content.KindPost}, "two one"},
		{content.AllQuery{Tag: "web"}, "three two"},
		{content.AllQuery{Words: "sqli"}, "four one"},
		{content.AllQuery{Words: "sqlite", Kind: content.KindPost}, "one"},
		{content.AllQuery{Words: "'\"*)"}, ""},
		{content.AllQuery{Limit: 2, Offset: 1}, "three two"},
	}
	for _, tc := range cases {
		posts, total, err := s.ListAll(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var slugs []string
		for _, p := range posts {
			slugs = append(slugs, p.Slug)
		}
		if got := strings.Join(slugs, " "); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.q, got, tc.want)
		}
		if tc.q.Limit == 0 && total != len(posts) || tc.q.Limit > 0 && total != 4 {
			t.Errorf("%+v: total %d", tc.q, total)
		}
	}
	tags, err := s.AllTags(ctx)
	if err != nil || fmt.Sprint(tags) != "[{go go 2} {web web 2}]" {
		t.Errorf("all tags: %v %v", tags, err)
	}
}

// TestListAllUsesIndexes: the admin's list walks its covering index in
// order instead of reading and sorting every entry.
func TestListAllUsesIndexes(t *testing.T) {
	s, _ := MustStore(t)
	for _, q := range []string{
		`SELECT id FROM posts INDEXED BY posts_admin WHERE 1 ORDER BY updated_at DESC, id DESC LIMIT 50`,
		`SELECT id FROM posts INDEXED BY posts_admin WHERE 1 AND kind = 'post' AND status <> 'draft' AND published_at <= 5
			AND id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'x') ORDER BY updated_at DESC, id DESC LIMIT 50`,
		`SELECT count(*) FROM posts INDEXED BY posts_admin WHERE 1 AND kind = 'post' AND status = 'draft'`,
	} {
		rows, err := s.DB.Read.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "COVERING INDEX posts_admin") {
			t.Errorf("%s: %s", q, p)
		}
	}
}
