package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"site/app/content"
)

// owner is the panel with a signed-in admin's browser.
func owner(t *testing.T) (*panel, *http.Client) {
	t.Helper()
	p := newPanel(t)
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	return p, p.client(t, "owner@example.org")
}

// do sends a request and returns its status, Location and body.
func do(t *testing.T, c *http.Client, method, address string, form url.Values, header ...string) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, address, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func editorForm(kv ...string) url.Values {
	v := url.Values{"kind": {"post"}, "status": {"draft"}, "action": {"save"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// TestPostWriteRenamePublish: write a post, publish it, rename it; the old
// address redirects for good, the audit log has each step.
func TestPostWriteRenamePublish(t *testing.T) {
	p, c := owner(t)
	code, loc, _ := do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Hello, Wörld", "body", "Some **bold**\r\ntext",
		"tags", "Go, SQLite", "status", "published"))
	if code != 303 || !strings.HasPrefix(loc, "/admin/posts/") || !strings.HasSuffix(loc, "?saved=1") {
		t.Fatalf("create: %d %q", code, loc)
	}
	edit := strings.TrimSuffix(loc, "?saved=1")
	code, _, body := do(t, c, "GET", p.URL+loc, nil)
	if code != 200 {
		t.Fatalf("editor: %d", code)
	}
	mustContain(t, "editor", body, "Saved.", `value="hello-world"`, "Go, SQLite", "Some **bold**\ntext", "/posts/hello-world", "admin-editor.", "published")
	post, err := p.admin.Content.GetAny(t.Context(), content.KindPost, "hello-world")
	if err != nil || post.Status != content.StatusPublished || len(post.Tags) != 2 || post.Body != "Some **bold**\ntext" {
		t.Fatalf("stored: %v %+v", err, post)
	}
	public := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, _, body := do(t, public, "GET", p.URL+"/posts/hello-world", nil); code != 200 || !strings.Contains(body, "<strong>bold</strong>") {
		t.Fatalf("public page: %d", code)
	}
	// Rename: the old address answers 301 to the new one.
	code, _, _ = do(t, c, "POST", p.URL+edit, editorForm("title", "Hello, Wörld", "slug", "hello-again", "body", post.Body,
		"tags", "Go, SQLite", "status", "published"))
	if code != 303 {
		t.Fatalf("rename: %d", code)
	}
	if code, loc, _ := do(t, public, "GET", p.URL+"/posts/hello-world", nil); code != 301 || loc != "/posts/hello-again" {
		t.Errorf("old address: %d %q", code, loc)
	}
	if code, _, _ := do(t, public, "GET", p.URL+"/posts/hello-again", nil); code != 200 {
		t.Errorf("new address: %d", code)
	}
	again, _ := p.admin.Content.GetAny(t.Context(), content.KindPost, "hello-again")
	if !again.PublishedAt.Equal(post.PublishedAt) {
		t.Errorf("publish time moved: %v → %v", post.PublishedAt, again.PublishedAt)
	}
	// Saving again with nothing changed writes nothing new to the log.
	do(t, c, "POST", p.URL+edit, editorForm("title", "Hello, Wörld", "slug", "hello-again", "body", post.Body,
		"tags", "Go, SQLite", "status", "published"))
	// Back to a draft.
	do(t, c, "POST", p.URL+edit, editorForm("title", "Hello, Wörld", "slug", "hello-again", "body", post.Body, "status", "draft"))
	if code, _, _ := do(t, public, "GET", p.URL+"/posts/hello-again", nil); code != 404 {
		t.Errorf("unpublished page: %d", code)
	}
	_, _, log := do(t, c, "GET", p.URL+"/admin/audit", nil)
	mustContain(t, "audit log", log, "post.create", "post.publish", "post.update", "moved from /posts/hello-world", "post.unpublish")
	if n := strings.Count(log, "post.update"); n != 2 {
		t.Errorf("%d post.update entries, want 2", n)
	}
}

// TestPostSchedule: a scheduled entry needs its time and appears at it.
func TestPostSchedule(t *testing.T) {
	p, c := owner(t)
	code, _, body := do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Later", "status", "scheduled"))
	if code != 400 {
		t.Fatalf("scheduled without a time: %d", code)
	}
	mustContain(t, "editor", body, "Give the time at which it should appear.", `value="Later"`)
	at := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Minute)
	code, _, _ = do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Later", "status", "scheduled",
		"published_at", at.Format("2006-01-02T15:04")))
	if code != 303 {
		t.Fatalf("schedule: %d", code)
	}
	post, err := p.admin.Content.GetAny(t.Context(), content.KindPost, "later")
	if err != nil || !post.PublishedAt.Equal(at) || post.State(time.Now()) != content.StatusScheduled {
		t.Fatalf("stored: %v %+v", err, post)
	}
	_, _, list := do(t, c, "GET", p.URL+"/admin/posts?state=scheduled", nil)
	mustContain(t, "list", list, "Later", "state-scheduled")
	_, _, log := do(t, c, "GET", p.URL+"/admin/audit", nil)
	mustContain(t, "audit log", log, "post.schedule")
}

// TestPostValidation: problems are said next to their fields, what was
// typed is kept, nothing is saved.
func TestPostValidation(t *testing.T) {
	p, c := owner(t)
	cases := []struct {
		form  url.Values
		wants []string
	}{
		{editorForm("title", "", "body", "kept text"), []string{"Give it a title.", "kept text", `id="title-error"`}},
		{editorForm("title", "T", "slug", "Not A Slug"), []string{"Use only lowercase letters", `value="Not A Slug"`}},
		{editorForm("title", "T", "kind", "essay"), []string{"Choose post, project or page."}},
		{editorForm("title", "T", "status", "live"), []string{"Choose draft, scheduled or published."}},
		{editorForm("title", "T", "published_at", "tomorrow"), []string{"Write the time as"}},
		{editorForm("title", "T", "cover", "no/such.jpg"), []string{"No image in the media library has this key."}},
		{editorForm("title", strings.Repeat("x", 301)), []string{"Keep the title under 300 characters."}},
		{editorForm("title", "T", "body", strings.Repeat("x", content.MaxBody+1)), []string{"The text is longer than 1 MiB."}},
		{editorForm("title", "T", "tags", "ok, !!!"), []string{"has no letters or digits"}},
	}
	for _, tc := range cases {
		code, _, body := do(t, c, "POST", p.URL+"/admin/posts/new", tc.form)
		if code != 400 {
			t.Errorf("%v: %d, want 400", tc.wants, code)
		}
		mustContain(t, "editor", body, append(tc.wants, "It was not saved")...)
	}
	if _, n, _ := p.admin.Content.ListAll(t.Context(), content.AllQuery{}); n != 0 {
		t.Errorf("%d entries saved", n)
	}
	// Another post's slug.
	do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Taken"))
	code, _, body := do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Taken"))
	if code != 400 || !strings.Contains(body, "Another post already has this slug") {
		t.Errorf("taken slug: %d", code)
	}
	// The same slug as a page is fine.
	if code, _, _ := do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Taken", "kind", "page")); code != 303 {
		t.Errorf("page with a post's slug: %d", code)
	}
}

// TestPostPreview: the preview is the public page's rendering, as a
// fragment and, without JavaScript, under the editor; nothing is saved.
func TestPostPreview(t *testing.T) {
	p, c := owner(t)
	code, _, body := do(t, c, "POST", p.URL+"/admin/posts/preview", url.Values{"body": {"## Hi\n\n*there* <script>alert(1)</script>"}})
	if code != 200 || !strings.Contains(body, "<em>there</em>") || strings.Contains(body, "<script>") || strings.Contains(body, "<html") {
		t.Fatalf("preview fragment: %d %s", code, body)
	}
	want, _ := content.NewMarkdown().Render(context.Background(), "## Hi\n\n*there* <script>alert(1)</script>", nil)
	if body != want {
		t.Errorf("preview differs from the public rendering:\n%s\n%s", body, want)
	}
	code, _, body = do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Draft", "body", "**seen**", "action", "preview"))
	if code != 200 {
		t.Fatalf("preview button: %d", code)
	}
	mustContain(t, "editor with preview", body, "<strong>seen</strong>", `value="Draft"`, "**seen**")
	if _, n, _ := p.admin.Content.ListAll(t.Context(), content.AllQuery{}); n != 0 {
		t.Errorf("preview saved %d entries", n)
	}
}

// TestPostAutosave: a new draft is created, then updated; a published
// entry is not autosaved; an autosave never publishes.
func TestPostAutosave(t *testing.T) {
	p, c := owner(t)
	var got struct {
		ID                        int64
		Edit, Autosave, At, Error string
	}
	code, _, body := do(t, c, "POST", p.URL+"/admin/posts/new/autosave", editorForm("title", "Auto", "body", "one", "status", "published"))
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != 201 || got.ID == 0 || got.Edit != fmt.Sprintf("/admin/posts/%d", got.ID) {
		t.Fatalf("first autosave: %d %s", code, body)
	}
	if _, err := time.Parse(time.RFC3339, got.At); err != nil {
		t.Errorf("at: %q", got.At)
	}
	code, _, body = do(t, c, "POST", p.URL+got.Autosave, editorForm("title", "Auto", "body", "two", "status", "published"))
	if code != 200 {
		t.Fatalf("second autosave: %d %s", code, body)
	}
	post, err := p.admin.Content.GetByID(t.Context(), got.ID)
	if err != nil || post.Body != "two" || post.Status != content.StatusDraft {
		t.Fatalf("stored: %v %+v", err, post)
	}
	if code, _, body := do(t, c, "POST", p.URL+got.Autosave, editorForm("title", "")); code != 400 || !strings.Contains(body, "Give it a title") {
		t.Errorf("autosave without title: %d %s", code, body)
	}
	// Published: Save only.
	do(t, c, "POST", p.URL+got.Edit, editorForm("title", "Auto", "body", "two", "status", "published"))
	code, _, body = do(t, c, "POST", p.URL+got.Autosave, editorForm("title", "Auto", "body", "three"))
	if code != 409 {
		t.Errorf("autosave of a published entry: %d %s", code, body)
	}
	if post, _ := p.admin.Content.GetByID(t.Context(), got.ID); post.Body != "two" {
		t.Errorf("published entry autosaved: %q", post.Body)
	}
	_, _, editor := do(t, c, "GET", p.URL+got.Edit, nil)
	if strings.Contains(editor, "data-autosave") {
		t.Error("a published entry's editor offers autosave")
	}
	_, _, editor = do(t, c, "GET", p.URL+"/admin/posts/new", nil)
	mustContain(t, "new editor", editor, `data-autosave="/admin/posts/new/autosave"`, `data-preview="/admin/posts/preview"`)
}

// TestPostDelete asks first, then deletes and logs it.
func TestPostDelete(t *testing.T) {
	p, c := owner(t)
	post := &content.Post{Kind: content.KindProject, Slug: "tool", Title: "A tool", Status: content.StatusPublished}
	if err := p.admin.Content.Create(t.Context(), post); err != nil {
		t.Fatal(err)
	}
	edit := fmt.Sprintf("%s/admin/posts/%d", p.URL, post.ID)
	code, _, body := do(t, c, "GET", edit+"/delete", nil)
	if code != 200 || !strings.Contains(body, "Delete “A tool”?") || !strings.Contains(body, `method="post"`) {
		t.Fatalf("confirmation: %d", code)
	}
	if code, loc, _ := do(t, c, "POST", edit+"/delete", url.Values{}); code != 303 || loc != "/admin/posts" {
		t.Fatalf("delete: %d %q", code, loc)
	}
	if code, _, _ := do(t, c, "GET", edit, nil); code != 404 {
		t.Errorf("deleted entry's editor: %d", code)
	}
	if code, _, _ := do(t, c, "POST", edit+"/delete", url.Values{}); code != 404 {
		t.Errorf("second delete: %d", code)
	}
	_, _, log := do(t, c, "GET", p.URL+"/admin/audit", nil)
	mustContain(t, "audit log", log, "post.delete", "/projects/tool")
}

// TestPostList filters and pages, 50 to a page, the latest change first.
func TestPostList(t *testing.T) {
	p, c := owner(t)
	cs := p.admin.Content
	base := time.Now().Add(-time.Hour)
	for i := range 60 {
		now := base.Add(time.Duration(i) * time.Second)
		cs.Now = func() time.Time { return now }
		post := &content.Post{Kind: content.KindPost, Slug: fmt.Sprintf("post-%02d", i), Title: fmt.Sprintf("Post %02d", i),
			Status: content.StatusPublished, Body: "words"}
		switch {
		case i%10 == 0:
			post.Status, post.Body = content.StatusDraft, "rare zebra"
		case i == 1:
			post.Kind, post.Tags = content.KindPage, content.ParseTags("Odd One")
		}
		if err := cs.Create(t.Context(), post); err != nil {
			t.Fatal(err)
		}
	}
	cs.Now = time.Now
	_, _, body := do(t, c, "GET", p.URL+"/admin/posts", nil)
	mustContain(t, "list", body, "60 entries.", "Post 59", "Post 10", `href="/admin/posts?page=2"`, "Page 1 of 2")
	if strings.Contains(body, ">Post 09<") || strings.Index(body, "Post 59") > strings.Index(body, "Post 58") {
		t.Error("first page is not the 50 latest, latest first")
	}
	_, _, body = do(t, c, "GET", p.URL+"/admin/posts?page=2", nil)
	mustContain(t, "page 2", body, "Post 09", "Post 00", "Page 2 of 2")
	cases := []struct {
		query string
		wants []string
		count string
	}{
		{"state=draft", []string{"Post 50", "Post 00"}, "6 entries."},
		{"state=published&kind=page", []string{"Post 01"}, "One entry."},
		{"tag=odd-one", []string{"Post 01", "Odd One"}, "One entry."},
		{"q=zebr", []string{"Post 30"}, "6 entries."},
		{"q=zebra&state=published", nil, "Nothing matches."},
		{"state=bogus&kind=bogus&tag=%3Cx%3E", nil, "60 entries."},
	}
	for _, tc := range cases {
		code, _, body := do(t, c, "GET", p.URL+"/admin/posts?"+tc.query, nil)
		if code != 200 {
			t.Errorf("%s: %d", tc.query, code)
		}
		mustContain(t, tc.query, body, append(tc.wants, tc.count)...)
	}
	_, _, body = do(t, c, "GET", p.URL+"/admin/posts?state=published", nil)
	mustContain(t, "published page", body, `href="/admin/posts?page=2&amp;state=published"`)
	for _, q := range []string{"page=3", "page=0", "page=x", "page=-1"} {
		if code, _, _ := do(t, c, "GET", p.URL+"/admin/posts?"+q, nil); code != 404 {
			t.Errorf("%s: %d, want 404", q, code)
		}
	}
}

// TestPostHostile: malformed ids are 404, an oversized form 413, a
// cross-site POST 403.
func TestPostHostile(t *testing.T) {
	p, c := owner(t)
	for _, path := range []string{"abc", "01", "-1", "+1", "1.0", "99999999999999999999", "0", "12345"} {
		if code, _, _ := do(t, c, "GET", p.URL+"/admin/posts/"+path, nil); code != 404 {
			t.Errorf("GET /admin/posts/%s: %d, want 404", path, code)
		}
		if code, _, _ := do(t, c, "POST", p.URL+"/admin/posts/"+path, editorForm("title", "x")); code != 404 {
			t.Errorf("POST /admin/posts/%s: %d, want 404", path, code)
		}
		if code, _, _ := do(t, c, "POST", p.URL+"/admin/posts/"+path+"/autosave", editorForm("title", "x")); code != 404 {
			t.Errorf("autosave /admin/posts/%s: %d, want 404", path, code)
		}
	}
	huge := editorForm("title", "Huge", "body", strings.Repeat("x", 5<<20))
	for _, path := range []string{"/admin/posts/new", "/admin/posts/preview", "/admin/posts/new/autosave"} {
		if code, _, _ := do(t, c, "POST", p.URL+path, huge); code != 413 {
			t.Errorf("huge form to %s: %d, want 413", path, code)
		}
	}
	code, _, _ := do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Evil"),
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if code != 403 {
		t.Errorf("cross-site POST: %d, want 403", code)
	}
	if _, n, _ := p.admin.Content.ListAll(t.Context(), content.AllQuery{}); n != 0 {
		t.Errorf("%d entries saved", n)
	}
	// Titles are text, never markup.
	do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", `<img src=x onerror=alert(1)>`))
	_, _, body := do(t, c, "GET", p.URL+"/admin/posts", nil)
	if strings.Contains(body, "<img src=x") {
		t.Error("a title was not escaped")
	}
}
