package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"site/app/content"
	"site/app/web"
	"site/views"
)

// maxPostForm bounds the editor's form: a body of content.MaxBody bytes
// with room for URL encoding; more is answered 413.
const maxPostForm = 4 << 20

// timeLayout is how a datetime-local field writes a time (UTC here).
const timeLayout = "2006-01-02T15:04"

// readForm parses the bounded form of a POST; false when it answered 413
// or 400.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	return web.ParseForm(w, r, maxPostForm, "The form is too large: the text may be at most 1 MiB.")
}

// fromForm reads the editor's fields into an entry (with the ID given),
// the editor as typed, and what is wrong with them in plain words.
func (a *Admin) fromForm(r *http.Request, id int64) (*content.Post, views.PostEditor) {
	f := func(name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }
	e := views.PostEditor{ID: id, Kind: f("kind"), Title: f("title"), Slug: f("slug"), Summary: f("summary"),
		Tags: f("tags"), Cover: f("cover"), Status: f("status"), PublishedAt: f("published_at"),
		Body: strings.ReplaceAll(r.PostForm.Get("body"), "\r\n", "\n"), CommentsClosed: r.PostForm.Get("comments_closed") == "1"}
	p := &content.Post{ID: id, Kind: content.Kind(e.Kind), Title: e.Title, Slug: e.Slug, Summary: e.Summary,
		Body: e.Body, CoverImage: e.Cover, Status: content.Status(e.Status), Tags: content.ParseTags(e.Tags),
		CommentsClosed: e.CommentsClosed}
	if p.Slug == "" {
		p.Slug = content.Slugify(p.Title)
	}
	var badTime bool
	if e.PublishedAt != "" {
		t, err := time.Parse(timeLayout, e.PublishedAt)
		if err != nil {
			t, err = time.Parse(timeLayout+":05", e.PublishedAt)
		}
		badTime = err != nil
		p.PublishedAt = t.UTC()
	}
	e.Problems = p.Problems()
	if badTime {
		e.Problems["published_at"] = "Write the time as year-month-day and hours:minutes, e.g. 2025-06-01T09:30."
	}
	if len(p.CoverImage) > 500 {
		e.Problems["cover"] = "That is not an image key."
	} else if p.CoverImage != "" {
		ok, err := a.Content.ImageExists(r.Context(), p.CoverImage)
		if err == nil && !ok {
			e.Problems["cover"] = "No image in the media library has this key."
		}
	}
	if len(e.Problems) == 0 {
		e.Slug = p.Slug
	}
	return p, e
}

// previewOf renders the editor's body as the public page renders it.
func (a *Admin) previewOf(r *http.Request, body string) (string, error) {
	return a.Content.Markdown.Render(r.Context(), body, a.Content)
}

// postCreate saves a new entry from the editor (or previews it).
func (a *Admin) postCreate(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	p, e := a.fromForm(r, 0)
	a.save(w, r, p, e, nil)
}

// postUpdate saves an edited entry (or previews it).
func (a *Admin) postUpdate(w http.ResponseWriter, r *http.Request) {
	old, ok := a.loadPost(w, r)
	if !ok || !readForm(w, r) {
		return
	}
	p, e := a.fromForm(r, old.ID)
	// Published without a time given keeps the time it was published at.
	if p.Status == content.StatusPublished && e.PublishedAt == "" && old.Status != content.StatusDraft {
		p.PublishedAt = old.PublishedAt
	}
	a.stateOf(&e, old)
	a.save(w, r, p, e, old)
}

// save writes p (old is the stored entry, nil for a new one), audits what
// changed and sends the browser back to the editor; a preview, or a form
// with problems, is shown again as typed.
func (a *Admin) save(w http.ResponseWriter, r *http.Request, p *content.Post, e views.PostEditor, old *content.Post) {
	if r.PostForm.Get("action") == "preview" {
		html, err := a.previewOf(r, p.Body)
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		e.Problems, e.PreviewHTML = nil, html
		if e.PreviewHTML == "" {
			e.PreviewHTML = "<p><em>Nothing to preview yet.</em></p>"
		}
		a.editor(w, r, http.StatusOK, e)
		return
	}
	if len(e.Problems) > 0 {
		a.editor(w, r, http.StatusBadRequest, e)
		return
	}
	var err error
	var res content.SaveResult
	if old == nil {
		err, res = a.Content.Create(r.Context(), p), content.Created
	} else {
		_, res, err = a.Content.Update(r.Context(), p)
	}
	switch {
	case errors.Is(err, content.ErrSlugTaken):
		e.Problems["slug"] = "Another " + string(p.Kind) + " already has this slug; choose another."
		a.editor(w, r, http.StatusBadRequest, e)
		return
	case errors.Is(err, content.ErrNotFound):
		a.Shell.NotFound(w, r)
		return
	case err != nil:
		a.serverError(w, r, err)
		return
	}
	closedChanged := (old == nil && p.CommentsClosed) || (old != nil && old.CommentsClosed != p.CommentsClosed)
	if closedChanged {
		if err := a.commentStore().SetClosed(r.Context(), p.ID, p.CommentsClosed); err != nil {
			a.serverError(w, r, err)
			return
		}
		action := "post.comments_open"
		if p.CommentsClosed {
			action = "post.comments_close"
		}
		a.logAudit(r, action, strconv.FormatInt(p.ID, 10), p.Title)
	}
	if res != content.Unchanged || closedChanged {
		a.Shell.Invalidate()
	}
	if res != content.Unchanged {
		a.auditSave(r, old, p, "")
	}
	http.Redirect(w, r, "/admin/posts/"+strconv.FormatInt(p.ID, 10)+"?saved=1", http.StatusSeeOther)
}

// auditSave records a save: post.create or post.update, and post.publish,
// post.schedule or post.unpublish when the status changed.
func (a *Admin) auditSave(r *http.Request, old, p *content.Post, how string) {
	target := p.Path()
	was := content.StatusDraft
	if old == nil {
		a.logAudit(r, "post.create", target, strings.TrimSpace(string(p.Status)+" "+how))
	} else {
		was = old.Status
		detail := how
		if from := old.Path(); from != target {
			detail = strings.TrimSpace("moved from " + from + " " + how)
		}
		a.logAudit(r, "post.update", target, detail)
	}
	if p.Status == was {
		return
	}
	switch p.Status {
	case content.StatusPublished:
		a.logAudit(r, "post.publish", target, "")
	case content.StatusScheduled:
		a.logAudit(r, "post.schedule", target, "at "+p.PublishedAt.UTC().Format(time.RFC3339))
	case content.StatusDraft:
		a.logAudit(r, "post.unpublish", target, "back to draft")
	}
}

// postPreview renders a Markdown body (the form's "body") to the HTML
// fragment the public page would show.
func (a *Admin) postPreview(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	body := strings.ReplaceAll(r.PostForm.Get("body"), "\r\n", "\n")
	if len(body) > content.MaxBody {
		http.Error(w, "The text is longer than 1 MiB.", http.StatusRequestEntityTooLarge)
		return
	}
	html, err := a.previewOf(r, body)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write([]byte(html))
}

// autosaved is the answer to an autosave.
type autosaved struct {
	ID int64 `json:"id,omitempty"`
	// Edit and Autosave are the entry's editor and autosave addresses, for
	// a draft the autosave just created.
	Edit     string `json:"edit,omitempty"`
	Autosave string `json:"autosave,omitempty"`
	// At is when it was saved (RFC 3339).
	At    string `json:"at,omitempty"`
	Error string `json:"error,omitempty"`
}

func sendJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// postAutosave saves the editor's fields as a draft: a new entry ({id} is
// "new") is created as one, a stored draft is updated; a published or
// scheduled entry is saved only by the Save button (409).
func (a *Admin) postAutosave(w http.ResponseWriter, r *http.Request) {
	var old *content.Post
	if r.PathValue("id") != "new" {
		var ok bool
		if old, ok = a.loadPost(w, r); !ok {
			return
		}
		if old.Status != content.StatusDraft {
			sendJSON(w, http.StatusConflict, autosaved{Error: "Only drafts are saved as you type; use Save."})
			return
		}
	}
	if !readForm(w, r) {
		return
	}
	r.PostForm.Set("status", string(content.StatusDraft))
	var id int64
	if old != nil {
		id = old.ID
	}
	p, e := a.fromForm(r, id)
	if len(e.Problems) > 0 {
		var msgs []string
		for _, m := range e.Problems {
			msgs = append(msgs, m)
		}
		sendJSON(w, http.StatusBadRequest, autosaved{Error: "Not saved: " + strings.Join(msgs, " ")})
		return
	}
	var err error
	res := content.Created
	if old == nil {
		err = a.Content.Create(r.Context(), p)
	} else {
		_, res, err = a.Content.Update(r.Context(), p)
	}
	switch {
	case errors.Is(err, content.ErrSlugTaken):
		sendJSON(w, http.StatusConflict, autosaved{Error: "Not saved: another " + string(p.Kind) + " already has this slug."})
		return
	case errors.Is(err, content.ErrNotFound):
		sendJSON(w, http.StatusNotFound, autosaved{Error: "This entry was deleted."})
		return
	case err != nil:
		a.Logger.Error("admin: autosave", "err", err)
		sendJSON(w, http.StatusInternalServerError, autosaved{Error: "Not saved: the server failed; try Save."})
		return
	}
	out := autosaved{ID: p.ID, At: p.UpdatedAt.UTC().Format(time.RFC3339)}
	code := http.StatusOK
	if old == nil {
		// Only the draft's creation is audited: drafts are not public and
		// the saves as one types would drown the log.
		a.auditSave(r, nil, p, "(autosaved)")
		out.Edit = "/admin/posts/" + strconv.FormatInt(p.ID, 10)
		out.Autosave = out.Edit + "/autosave"
		code = http.StatusCreated
	} else if res == content.Unchanged {
		out.At = old.UpdatedAt.UTC().Format(time.RFC3339)
	}
	sendJSON(w, code, out)
}
