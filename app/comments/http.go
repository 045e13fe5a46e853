package comments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"site/app/analytics"
	"site/app/auth"
	"site/app/content"
	"site/app/web"
	"site/views"
)

// Moderation policies (site.hcl comments.moderation): which new comments
// wait for the admin's approval. An admin's own are never held.
const (
	ModerateAll   = "all"   // every comment
	ModerateFirst = "first" // a reader's, until one of theirs is approved
	ModerateNone  = "none"  // none
)

// maxFormBytes bounds a comment form's body: the size cap in the widest
// UTF-8 with the other fields, with room to spare.
const maxFormBytes = 64 << 10

// Web is the comments' route group on the web shell: readers post, edit
// and delete their comments there, and (Extras) each post page shows its
// comments section.
type Web struct {
	// Store keeps the comments; Content finds the posts.
	Store   *Store
	Content *content.Store
	// Auth names the reader, guards the routes, counts the rate limits
	// (in ttl.db) and keys the form stamps.
	Auth *auth.Web
	// Shell renders pages and error pages.
	Shell *web.Server
	// NC publishes the live events; nil publishes none.
	NC *nats.Conn
	// Moderation is ModerateAll, ModerateFirst or ModerateNone; empty
	// means ModerateFirst.
	Moderation string
	// CloseAfter closes a post's comments that long after it was
	// published; 0 never does.
	CloseAfter time.Duration
	// Limits are the spam rules' numbers.
	Limits Limits
	// Logger receives what fails beside a request's answer (a live event
	// not published).
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Mount adds the group to the shell and shows the comments section on its
// post pages.
func (h *Web) Mount(srv *web.Server) {
	srv.Groups = append(srv.Groups, h)
	srv.EntryExtras = h.Extras
}

// Routes are the group's routes, each for a signed-in reader.
func (h *Web) Routes() []web.Route {
	return []web.Route{
		{Pattern: "POST /posts/{slug}/comments", Handler: h.Auth.RequireUser(http.HandlerFunc(h.add))},
		{Pattern: "POST /comments/{id}/edit", Handler: h.Auth.RequireUser(http.HandlerFunc(h.edit))},
		{Pattern: "POST /comments/{id}/delete", Handler: h.Auth.RequireUser(http.HandlerFunc(h.remove))},
	}
}

func (h *Web) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Web) limits() Limits { return h.Limits.withDefaults() }

func (h *Web) stamper() stamper { return newStamper(h.Auth.Auth.Key) }

func (h *Web) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// Closed reports whether post takes no new comments: its switch, or its
// age past CloseAfter.
func (h *Web) Closed(post *content.Post) bool {
	return post.Kind != content.KindPost || post.CommentsClosed ||
		h.CloseAfter > 0 && h.now().After(post.PublishedAt.Add(h.CloseAfter))
}

// statusFor is the status a new comment of u takes under the policy.
func (h *Web) statusFor(ctx context.Context, u auth.User) (Status, error) {
	if u.IsAdmin() {
		return Approved, nil
	}
	switch h.Moderation {
	case ModerateNone:
		return Approved, nil
	case ModerateAll:
		return Held, nil
	}
	ok, err := h.Store.HasApproved(ctx, u.ID)
	if err != nil || !ok {
		return Held, err
	}
	return Approved, nil
}

// refusal is a comment or edit not accepted: the status and the reason,
// in plain words, for the reader.
type refusal struct {
	code int
	msg  string
	// retryAfter is sent as Retry-After (seconds) when set.
	retryAfter int
}

func (r *refusal) Error() string { return r.msg }

func refuse(code int, format string, args ...any) *refusal {
	return &refusal{code: code, msg: fmt.Sprintf(format, args...)}
}

// clientIP is the client's address for the per-address limit.
func (h *Web) clientIP(r *http.Request) string {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	return analytics.ClientIP(peer, r.Header.Get("X-Forwarded-For"), h.Auth.TrustedProxies).String()
}

// wantsJSON reports a request from comments.js, which takes the answer as
// JSON instead of a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func sendJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// checkText applies the rules a comment's text must meet (new or edited)
// and returns its rendering.
func (h *Web) checkText(body string) (string, *refusal) {
	l := h.limits()
	if strings.TrimSpace(body) == "" {
		return "", refuse(http.StatusBadRequest, "Your comment is empty. Write something, then send it.")
	}
	if n := utf8.RuneCountInString(body); n > l.MaxLength {
		return "", refuse(http.StatusBadRequest, "Your comment is %d characters long; the limit is %d. Shorten it, then send it again.", n, l.MaxLength)
	}
	html, err := Render(body)
	if err != nil {
		return "", refuse(http.StatusBadRequest, "Your comment could not be read as text. Check it, then send it again.")
	}
	if n := countLinks(html); n > l.MaxLinks {
		return "", refuse(http.StatusBadRequest, "Your comment has %d links; at most %d are allowed. Remove some, then send it again.", n, l.MaxLinks)
	}
	if len(html) > MaxHTML {
		return "", refuse(http.StatusBadRequest, "Your comment is too long once formatted. Shorten it, then send it again.")
	}
	return html, nil
}

// submission is what a reader sent in the comment form.
type submission struct {
	name, body, website, stamp string
	parent                     int64
	parentBad                  bool
	notify                     bool
}

func readSubmission(f url.Values) submission {
	s := submission{name: f.Get("name"), body: f.Get("body"), website: f.Get("website"), stamp: f.Get("stamp"),
		notify: f.Get("notify") != ""}
	if v := f.Get("parent"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		s.parent, s.parentBad = id, err != nil || id <= 0
	}
	return s
}

// accept applies the policy and the spam rules to a submission on post by
// u, in the order a reader can act on, and stores the comment.
func (h *Web) accept(r *http.Request, u auth.User, post *content.Post, s submission) (Comment, *refusal, error) {
	ctx, l, now := r.Context(), h.limits(), h.now()
	if h.Closed(post) {
		return Comment{}, refuse(http.StatusForbidden, "Comments on this post are closed."), nil
	}
	if banned, err := h.Store.IsBanned(ctx, u.ID); err != nil {
		return Comment{}, nil, err
	} else if banned {
		return Comment{}, refuse(http.StatusForbidden, "You can no longer comment on this site: the site's owner has blocked your account from commenting."), nil
	}
	if s.website != "" {
		return Comment{}, refuse(http.StatusBadRequest, "The field marked “leave this field empty” has text in it, as spam robots fill it. Empty it, then send your comment again."), nil
	}
	made, ok := h.stamper().read(s.stamp, post.ID, u.ID)
	switch {
	case !ok || now.Sub(made) > l.MaxFormAge:
		return Comment{}, refuse(http.StatusBadRequest, "This form is too old or was damaged. Your text is kept below: send it again."), nil
	case now.Sub(made) < l.MinFill:
		rf := refuse(http.StatusTooManyRequests, "That was sent too quickly after the page opened, as spam robots do. Wait a few seconds, then send it again.")
		rf.retryAfter = int(l.MinFill / time.Second)
		return Comment{}, rf, nil
	}
	name := strings.Join(strings.Fields(s.name), " ")
	if name == "" {
		return Comment{}, refuse(http.StatusBadRequest, "Give the name to show with your comment."), nil
	}
	if n := utf8.RuneCountInString(name); n > MaxDisplayName {
		return Comment{}, refuse(http.StatusBadRequest, "Your name is %d characters long; the limit is %d.", n, MaxDisplayName), nil
	}
	html, rf := h.checkText(s.body)
	if rf != nil {
		return Comment{}, rf, nil
	}
	if s.parentBad {
		return Comment{}, refuse(http.StatusBadRequest, "The comment you are replying to is not there any more. Send yours as a new comment."), nil
	}
	if s.parent != 0 {
		p, err := h.Store.Get(ctx, s.parent)
		if errors.Is(err, ErrNotFound) || err == nil && (p.PostID != post.ID || p.IsReply() ||
			p.Status != Approved && !(p.Status == Held && p.UserID == u.ID)) {
			return Comment{}, refuse(http.StatusBadRequest, "The comment you are replying to is not there any more. Send yours as a new comment."), nil
		} else if err != nil {
			return Comment{}, nil, err
		}
	}
	if dup, err := h.Store.Duplicate(ctx, u.ID, post.ID, s.body, now.Add(-l.Duplicate)); err != nil {
		return Comment{}, nil, err
	} else if dup {
		return Comment{}, refuse(http.StatusConflict, "You already posted this same comment here. To add to it, change the text."), nil
	}
	byReader, err := h.Auth.Auth.Allow(ctx, "comments:reader:"+strconv.FormatInt(u.ID, 10), l.PerReader, l.Window)
	if err != nil {
		return Comment{}, nil, err
	}
	byClient, err := h.Auth.Auth.Allow(ctx, "comments:ip:"+h.clientIP(r), l.PerIP, l.Window)
	if err != nil {
		return Comment{}, nil, err
	}
	if !byReader || !byClient {
		rf := refuse(http.StatusTooManyRequests, "You are commenting faster than this site allows. Wait %d minutes, then send it again.", int(l.Window/time.Minute))
		rf.retryAfter = int(l.Window / time.Second)
		return Comment{}, rf, nil
	}
	status, err := h.statusFor(ctx, u)
	if err != nil {
		return Comment{}, nil, err
	}
	c := Comment{PostID: post.ID, PostSlug: post.Slug, PostTitle: post.Title, ParentID: s.parent, UserID: u.ID,
		Author: name, Body: s.body, HTML: html, Status: status, CreatedAt: now, Notify: s.notify}
	if _, err := h.Store.Add(ctx, &c); errors.Is(err, ErrBadParent) {
		return Comment{}, refuse(http.StatusBadRequest, "The comment you are replying to is not there any more. Send yours as a new comment."), nil
	} else if err != nil {
		return Comment{}, nil, err
	}
	if name != u.DisplayName {
		if err := h.Store.SetDisplayName(ctx, u.ID, name); err != nil {
			return Comment{}, nil, err
		}
	}
	if err := Announce(h.NC, c); err != nil {
		h.logger().Warn("comments: live event not published", "comment", c.ID, "err", err)
	}
	return c, nil, nil
}

// add takes a new comment or reply on a post.
func (h *Web) add(w http.ResponseWriter, r *http.Request) {
	if !web.ParseForm(w, r, maxFormBytes, "The comment is too large to send.") {
		return
	}
	u, _ := auth.UserOf(r)
	slug := r.PathValue("slug")
	var post *content.Post
	var err error
	if content.ValidSlug(slug) {
		post, err = h.Content.Get(r.Context(), content.KindPost, slug)
	}
	if post == nil && (err == nil || errors.Is(err, content.ErrNotFound)) {
		h.Shell.NotFound(w, r)
		return
	} else if err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	s := readSubmission(r.PostForm)
	c, rf, err := h.accept(r, u, post, s)
	if err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	if rf != nil {
		h.refused(w, r, u, post, s, rf)
		return
	}
	if !wantsJSON(r) {
		http.Redirect(w, r, post.Path()+"#"+c.Anchor(), http.StatusSeeOther)
		return
	}
	var frag bytes.Buffer
	if err := views.CommentItem(h.view(c, u.ID, false)).Render(r.Context(), &frag); err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	sendJSON(w, http.StatusCreated, map[string]any{
		"id": strconv.FormatInt(c.ID, 10), "anchor": c.Anchor(), "parent": parentValue(c.ParentID),
		"held": c.Status != Approved, "fragment": frag.String(),
		"stamp": h.stamper().make(h.now(), post.ID, u.ID),
	})
}

func parentValue(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// refused answers a refused comment: JSON for comments.js, else the form
// again with the reader's text and the reason.
func (h *Web) refused(w http.ResponseWriter, r *http.Request, u auth.User, post *content.Post, s submission, rf *refusal) {
	if rf.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(rf.retryAfter))
	}
	// A stamp still good is kept (its time counts on); a bad one is made
	// anew so that sending again works.
	stamp := s.stamp
	if made, ok := h.stamper().read(s.stamp, post.ID, u.ID); !ok || h.now().Sub(made) > h.limits().MaxFormAge {
		stamp = h.stamper().make(h.now(), post.ID, u.ID)
	}
	if wantsJSON(r) {
		sendJSON(w, rf.code, map[string]string{"error": rf.msg, "stamp": stamp})
		return
	}
	f := h.form(post, u)
	f.Name, f.Body, f.Notify, f.Stamp, f.Error = s.name, s.body, s.notify, stamp, rf.msg
	if s.parent != 0 && !s.parentBad {
		if p, err := h.Store.Get(r.Context(), s.parent); err == nil && p.PostID == post.ID {
			f.ParentID, f.ParentAuthor, f.ParentAnchor = p.ID, p.Author, p.Anchor()
		}
	}
	p := h.Shell.PageMeta(r, "Your comment was not posted")
	h.Shell.SendHTML(w, r, rf.code, views.CommentRefused(p, post.Title, f))
}

// form is an empty comment form on post for u.
func (h *Web) form(post *content.Post, u auth.User) views.CommentForm {
	l := h.limits()
	return views.CommentForm{Action: post.Path() + "/comments", PostPath: post.Path(), Name: u.DisplayName,
		Stamp: h.stamper().make(h.now(), post.ID, u.ID), MaxLength: l.MaxLength, MaxLinks: l.MaxLinks}
}

// own reads the comment of the path's id for its author within the edit
// window; otherwise it answers and returns false.
func (h *Web) own(w http.ResponseWriter, r *http.Request, u auth.User) (Comment, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.Shell.NotFound(w, r)
		return Comment{}, false
	}
	c, err := h.Store.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) || err == nil && c.Status == Rejected {
		h.Shell.NotFound(w, r)
		return Comment{}, false
	} else if err != nil {
		h.Shell.ServerError(w, r, err)
		return Comment{}, false
	}
	if c.UserID != u.ID {
		h.plain(w, r, http.StatusForbidden, "Not yours", "Only the person who wrote a comment may change or delete it.", c)
		return Comment{}, false
	}
	if h.now().After(c.CreatedAt.Add(h.limits().EditFor)) {
		h.plain(w, r, http.StatusForbidden, "Too late to change",
			fmt.Sprintf("A comment can be changed or deleted for %d minutes after it is posted; this one no longer can.", int(h.limits().EditFor/time.Minute)), c)
		return Comment{}, false
	}
	return c, true
}

// plain answers with a short page that says msg and links to the post.
func (h *Web) plain(w http.ResponseWriter, r *http.Request, code int, title, msg string, c Comment) {
	p := h.Shell.PageMeta(r, title)
	h.Shell.SendHTML(w, r, code, views.CommentEditRefused(p, c.PostTitle, views.CommentEdit{
		PostPath: "/posts/" + c.PostSlug, ID: c.ID, Body: c.Body, Error: msg}))
}

// edit changes one's own comment within the edit window.
func (h *Web) edit(w http.ResponseWriter, r *http.Request) {
	if !web.ParseForm(w, r, maxFormBytes, "The comment is too large to send.") {
		return
	}
	u, _ := auth.UserOf(r)
	c, ok := h.own(w, r, u)
	if !ok {
		return
	}
	body := r.PostForm.Get("body")
	rf := (*refusal)(nil)
	if banned, err := h.Store.IsBanned(r.Context(), u.ID); err != nil {
		h.Shell.ServerError(w, r, err)
		return
	} else if banned {
		rf = refuse(http.StatusForbidden, "You can no longer comment on this site: the site's owner has blocked your account from commenting.")
	} else {
		_, rf = h.checkText(body)
	}
	if rf != nil {
		p := h.Shell.PageMeta(r, "Your change was not saved")
		h.Shell.SendHTML(w, r, rf.code, views.CommentEditRefused(p, c.PostTitle, views.CommentEdit{
			Action: r.URL.Path, PostPath: "/posts/" + c.PostSlug, ID: c.ID, Body: body, Error: rf.msg,
			Until: c.CreatedAt.Add(h.limits().EditFor), MaxLength: h.limits().MaxLength}))
		return
	}
	if _, err := h.Store.Edit(r.Context(), c.ID, body); err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	http.Redirect(w, r, "/posts/"+c.PostSlug+"#"+c.Anchor(), http.StatusSeeOther)
}

// remove deletes one's own comment (and its replies) within the edit
// window.
func (h *Web) remove(w http.ResponseWriter, r *http.Request) {
	if !web.ParseForm(w, r, maxFormBytes, "") {
		return
	}
	u, _ := auth.UserOf(r)
	c, ok := h.own(w, r, u)
	if !ok {
		return
	}
	if err := h.Store.Delete(r.Context(), c.ID); err != nil && !errors.Is(err, ErrNotFound) {
		h.Shell.ServerError(w, r, err)
		return
	}
	http.Redirect(w, r, "/posts/"+c.PostSlug+"#comments", http.StatusSeeOther)
}
