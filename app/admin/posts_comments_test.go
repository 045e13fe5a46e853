package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"site/app/content"
)

// TestPostCommentsSwitch: the editor's "Comments closed" box closes a
// post's comments (readers see "Comments are closed.", the cached page
// refreshes at once), opens them again, and each change is in the audit
// log.
func TestPostCommentsSwitch(t *testing.T) {
	p, c := owner(t)
	code, loc, _ := do(t, c, "POST", p.URL+"/admin/posts/new", editorForm("title", "Talk", "body", "Say something.", "status", "published"))
	if code != 303 {
		t.Fatalf("create: %d", code)
	}
	edit := strings.TrimSuffix(loc, "?saved=1")
	public := &http.Client{}
	page := func() string {
		t.Helper()
		code, _, body := do(t, public, "GET", p.URL+"/posts/talk", nil)
		if code != 200 {
			t.Fatalf("public page: %d", code)
		}
		return body
	}
	if strings.Contains(page(), "Comments are closed.") {
		t.Fatal("a new post's comments are closed")
	}
	stored := func() bool {
		t.Helper()
		post, err := p.admin.Content.GetAny(t.Context(), content.KindPost, "talk")
		if err != nil {
			t.Fatal(err)
		}
		return post.CommentsClosed
	}
	do(t, c, "POST", p.URL+edit, editorForm("title", "Talk", "body", "Say something.", "status", "published", "comments_closed", "1"))
	if !stored() || !strings.Contains(page(), "Comments are closed.") {
		t.Errorf("closing: stored %v; the public page does not say so", stored())
	}
	_, _, editor := do(t, c, "GET", p.URL+edit, nil)
	if !strings.Contains(editor, `name="comments_closed" value="1" aria-describedby="comments_closed-help" checked`) {
		t.Error("the editor does not show the box checked")
	}
	do(t, c, "POST", p.URL+edit, editorForm("title", "Talk", "body", "Say something.", "status", "published"))
	if stored() || strings.Contains(page(), "Comments are closed.") {
		t.Errorf("opening again: stored closed %v", stored())
	}
	_, _, log := do(t, c, "GET", p.URL+"/admin/audit", nil)
	mustContain(t, "audit log", log, "post.comments_close", "post.comments_open")
}
