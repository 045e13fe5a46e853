package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"site/app/auth"
	"site/app/content"
	"site/app/web"
	"site/views"
)

// SectionPosts is the menu section of posts, projects and pages.
const SectionPosts = "posts"

// postsPage is how many entries one page of the list shows.
const postsPage = 50

func (a *Admin) postRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET /admin/posts", Handler: http.HandlerFunc(a.postList)},
		{Pattern: "GET /admin/posts/new", Handler: http.HandlerFunc(a.postNew)},
		{Pattern: "POST /admin/posts/new", Handler: http.HandlerFunc(a.postCreate)},
		{Pattern: "GET /admin/posts/{id}", Handler: http.HandlerFunc(a.postEdit)},
		{Pattern: "POST /admin/posts/{id}", Handler: http.HandlerFunc(a.postUpdate)},
		{Pattern: "GET /admin/posts/{id}/delete", Handler: http.HandlerFunc(a.postConfirmDelete)},
		{Pattern: "POST /admin/posts/{id}/delete", Handler: http.HandlerFunc(a.postDelete)},
		{Pattern: "POST /admin/posts/{id}/autosave", Handler: http.HandlerFunc(a.postAutosave)},
		{Pattern: "POST /admin/posts/preview", Handler: http.HandlerFunc(a.postPreview)},
	}
}

// postID reads the {id} of the path: digits only, no leading zero; 0 when
// it is anything else.
func postID(r *http.Request) int64 {
	s := r.PathValue("id")
	if s == "" || len(s) > 18 || s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return 0
	}
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}

// postList lists every entry, the latest change first, filtered.
func (a *Admin) postList(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	l := views.PostList{Now: a.Content.Now(), Words: strings.TrimSpace(qv.Get("q"))}
	if len(l.Words) > 200 {
		l.Words = clip(l.Words, 200)
	}
	q := content.AllQuery{Words: l.Words, Limit: postsPage}
	switch s := content.Status(qv.Get("state")); s {
	case content.StatusDraft, content.StatusScheduled, content.StatusPublished:
		q.State, l.State = s, string(s)
	}
	switch k := content.Kind(qv.Get("kind")); k {
	case content.KindPost, content.KindProject, content.KindPage:
		q.Kind, l.Kind = k, string(k)
	}
	if t := qv.Get("tag"); content.ValidSlug(t) {
		q.Tag, l.Tag = t, t
	}
	n := 1
	if v := qv.Get("page"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1_000_000 {
			a.Shell.NotFound(w, r)
			return
		}
	}
	q.Offset = (n - 1) * postsPage
	posts, total, err := a.Content.ListAll(r.Context(), q)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	pages := max(1, (total+postsPage-1)/postsPage)
	if n > pages {
		a.Shell.NotFound(w, r)
		return
	}
	if l.Tags, err = a.Content.AllTags(r.Context()); err != nil {
		a.serverError(w, r, err)
		return
	}
	l.Posts, l.Total = posts, total
	l.Pager = views.Pager{Page: n, Pages: pages}
	link := func(page int) string {
		v := url.Values{}
		for k, s := range map[string]string{"q": l.Words, "state": l.State, "kind": l.Kind, "tag": l.Tag} {
			if s != "" {
				v.Set(k, s)
			}
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return "/admin/posts"
		}
		return "/admin/posts?" + v.Encode()
	}
	if n > 1 {
		l.Pager.Prev = link(n - 1)
	}
	if n < pages {
		l.Pager.Next = link(n + 1)
	}
	a.page(w, r, http.StatusOK, "Posts", SectionPosts, views.AdminPostList(l))
}

// postNew is the empty editor.
func (a *Admin) postNew(w http.ResponseWriter, r *http.Request) {
	e := views.PostEditor{Kind: string(content.KindPost), Status: string(content.StatusDraft)}
	a.editor(w, r, http.StatusOK, e)
}

// postEdit is the editor of a stored entry.
func (a *Admin) postEdit(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadPost(w, r)
	if !ok {
		return
	}
	e := a.editorOf(p)
	if r.URL.Query().Get("saved") != "" {
		e.Notice = "Saved."
	}
	a.editor(w, r, http.StatusOK, e)
}

// loadPost reads the entry of the path's id; false when it answered 404
// or 500.
func (a *Admin) loadPost(w http.ResponseWriter, r *http.Request) (*content.Post, bool) {
	id := postID(r)
	if id == 0 {
		a.Shell.NotFound(w, r)
		return nil, false
	}
	p, err := a.Content.GetByID(r.Context(), id)
	if errors.Is(err, content.ErrNotFound) {
		a.Shell.NotFound(w, r)
		return nil, false
	}
	if err != nil {
		a.serverError(w, r, err)
		return nil, false
	}
	return p, true
}

// editorOf fills the editor with a stored entry.
func (a *Admin) editorOf(p *content.Post) views.PostEditor {
	names := make([]string, len(p.Tags))
	for i, t := range p.Tags {
		names[i] = t.Name
	}
	e := views.PostEditor{ID: p.ID, Kind: string(p.Kind), Title: p.Title, Slug: p.Slug, Summary: p.Summary,
		Tags: strings.Join(names, ", "), Cover: p.CoverImage, Status: string(p.Status), Body: p.Body,
		Updated: p.UpdatedAt, CommentsClosed: p.CommentsClosed}
	if !p.PublishedAt.IsZero() {
		e.PublishedAt = p.PublishedAt.UTC().Format(timeLayout)
	}
	a.stateOf(&e, p)
	return e
}

// stateOf sets the editor's account of where the stored entry stands.
func (a *Admin) stateOf(e *views.PostEditor, p *content.Post) {
	e.State, e.Updated = string(p.State(a.Content.Now())), p.UpdatedAt
	if p.Visible(a.Content.Now()) {
		e.PublicPath = p.Path()
	}
}

// editor sends the editor page.
func (a *Admin) editor(w http.ResponseWriter, r *http.Request, code int, e views.PostEditor) {
	title := "New entry"
	if e.ID != 0 {
		title = "Edit " + e.Title
	}
	p := a.Shell.PageMeta(r, title)
	p.Scripts = append(p.Scripts, "admin-editor.js")
	u, _ := auth.UserOf(r)
	a.Shell.SendHTML(w, r, code, views.AdminPage(p, views.AdminNav{Section: SectionPosts, Address: u.Address}, views.AdminPostEditor(e)))
}

// postConfirmDelete asks before deleting.
func (a *Admin) postConfirmDelete(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadPost(w, r)
	if !ok {
		return
	}
	a.page(w, r, http.StatusOK, "Delete "+p.Title, SectionPosts, views.AdminPostDelete(p))
}

// postDelete deletes an entry and goes back to the list.
func (a *Admin) postDelete(w http.ResponseWriter, r *http.Request) {
	id := postID(r)
	if id == 0 {
		a.Shell.NotFound(w, r)
		return
	}
	old, err := a.Content.DeleteByID(r.Context(), id)
	if errors.Is(err, content.ErrNotFound) {
		a.Shell.NotFound(w, r)
		return
	}
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.Shell.Invalidate()
	a.logAudit(r, "post.delete", old.Path(), old.Title)
	http.Redirect(w, r, "/admin/posts", http.StatusSeeOther)
}

// logAudit writes the audit log and logs a failure: the action is done.
func (a *Admin) logAudit(r *http.Request, action, target, detail string) {
	if err := a.Audit(r, action, target, detail); err != nil {
		a.Logger.Error("admin: audit", "action", action, "err", err)
	}
}
