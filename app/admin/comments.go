package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"site/app/auth"
	"site/app/comments"
	"site/app/content"
	"site/app/events"
	"site/app/live"
	"site/app/web"
	"site/views"
)

// SectionComments is the menu section of the moderation queue.
const SectionComments = "comments"

// Paths of the comments area.
const (
	commentsPath       = "/admin/comments"
	commentsActionPath = "/admin/comments/action"
	commentsExportPath = "/admin/comments/export.json"
	commentsStreamPath = "/admin/comments/live"
)

// commentsPage is how many comments one page of the queue shows;
// maxCommentAction the most one action takes at once.
const (
	commentsPage     = 50
	maxCommentAction = 200
	maxCommentForm   = 16 << 10
)

func (a *Admin) commentRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET " + commentsPath, Handler: http.HandlerFunc(a.commentQueue)},
		{Pattern: "POST " + commentsActionPath, Handler: http.HandlerFunc(a.commentAction)},
		{Pattern: "GET " + commentsExportPath, Handler: http.HandlerFunc(a.commentExport)},
		{Pattern: "GET " + commentsStreamPath, Handler: http.HandlerFunc(a.commentStream)},
	}
}

// commentStore is the comments of data.db, on the panel's clock.
func (a *Admin) commentStore() *comments.Store {
	s := comments.NewStore(a.Data)
	s.Now = a.Now
	return s
}

// moderator applies the queue's actions: approving publishes the live
// event through the panel's NATS connection.
func (a *Admin) moderator() *comments.Moderator {
	return &comments.Moderator{Store: a.commentStore(), NC: a.NC, Logger: a.Logger}
}

// queueFilters are the queue's filters in their order: status, label.
var queueFilters = [][2]string{{"held", "Held"}, {"approved", "Approved"}, {"rejected", "Rejected"}, {"all", "All"}}

// queueStatus reads the filter: held unless another is named.
func queueStatus(s string) string {
	for _, f := range queueFilters {
		if s == f[0] {
			return s
		}
	}
	return "held"
}

// queueLink is the queue's address with a filter, a page and extra
// parameters (what was just done).
func queueLink(status string, page int, extra url.Values) string {
	v := url.Values{}
	for k, vs := range extra {
		v[k] = vs
	}
	if status != "held" {
		v.Set("status", status)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return commentsPath
	}
	return commentsPath + "?" + v.Encode()
}

// commentQueue lists comments for moderation: the held ones, oldest first,
// unless another filter is chosen (then newest first).
func (a *Admin) commentQueue(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	q := views.CommentQueue{Status: queueStatus(qv.Get("status")), Page: 1}
	if v := qv.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			a.Shell.NotFound(w, r)
			return
		}
		q.Page = n
	}
	counts, err := a.commentCounts(r.Context())
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	for _, f := range queueFilters {
		q.Tabs = append(q.Tabs, views.CommentTab{Status: f[0], Label: f[1], Count: counts[f[0]], Current: f[0] == q.Status})
	}
	// A page past the end (after its last comments were dealt with) shows
	// the last one.
	total := counts[q.Status]
	pages := max(1, (total+commentsPage-1)/commentsPage)
	q.Page = min(q.Page, pages)
	query := comments.QueueQuery{Offset: (q.Page - 1) * commentsPage, Limit: commentsPage}
	if q.Status != "all" {
		query.Status = comments.Status(q.Status)
	}
	list, total, err := a.commentStore().Queue(r.Context(), query)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	if q.Rows, err = a.commentRows(r.Context(), list); err != nil {
		a.serverError(w, r, err)
		return
	}
	q.Total = total
	q.Pager = views.Pager{Page: q.Page, Pages: pages}
	if q.Page > 1 {
		q.Pager.Prev = queueLink(q.Status, q.Page-1, nil)
	}
	if q.Page < pages {
		q.Pager.Next = queueLink(q.Status, q.Page+1, nil)
	}
	q.Notice, q.Error = doneNotice(qv), doneError(qv.Get("error"))
	if a.Live != nil {
		q.Stream = commentsStreamPath
	}
	p := a.Shell.PageMeta(r, "Comments")
	p.Scripts = append(p.Scripts, "admin-comments.js")
	u, _ := auth.UserOf(r)
	a.Shell.SendHTML(w, r, http.StatusOK, views.AdminPage(p, views.AdminNav{Section: SectionComments, Address: u.Address}, views.AdminComments(q)))
}

// commentCounts are the comments by status, and all of them.
func (a *Admin) commentCounts(ctx context.Context) (map[string]int, error) {
	rows, err := a.Data.Read.QueryContext(ctx, `SELECT status, count(*) FROM comments GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("admin: count comments: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("admin: count comments: %w", err)
		}
		out[s] = n
		out["all"] += n
	}
	return out, rows.Err()
}

// commentRows are the queue's rows of list: with each reader's address
// and ban, and each post's page.
func (a *Admin) commentRows(ctx context.Context, list []comments.Comment) ([]views.CommentRow, error) {
	type reader struct {
		address string
		banned  bool
	}
	readers, kinds := map[int64]reader{}, map[int64]string{}
	for _, c := range list {
		if c.UserID != 0 {
			readers[c.UserID] = reader{}
		}
		kinds[c.PostID] = ""
	}
	for id := range readers {
		var rd reader
		if err := a.Data.Read.QueryRowContext(ctx, `SELECT u.address, EXISTS (SELECT 1 FROM comment_bans b WHERE b.user_id = u.id)
			FROM users u WHERE u.id = ?`, id).Scan(&rd.address, &rd.banned); err != nil {
			return nil, fmt.Errorf("admin: comment reader %d: %w", id, err)
		}
		readers[id] = rd
	}
	for id := range kinds {
		var k string
		if err := a.Data.Read.QueryRowContext(ctx, `SELECT kind FROM posts WHERE id = ?`, id).Scan(&k); err != nil {
			return nil, fmt.Errorf("admin: comment post %d: %w", id, err)
		}
		kinds[id] = k
	}
	out := make([]views.CommentRow, len(list))
	for i, c := range list {
		rd := readers[c.UserID]
		row := views.CommentRow{ID: c.ID, Post: c.PostTitle, Anchor: c.Anchor(), Author: c.Author, Address: rd.address,
			HTML: c.HTML, Status: string(c.Status), At: c.CreatedAt, Reply: c.ParentID != 0, Banned: rd.banned}
		if c.Source != comments.SourceSite {
			row.Source = c.Source
		}
		row.PostPath = (&content.Post{Kind: content.Kind(kinds[c.PostID]), Slug: c.PostSlug}).Path()
		out[i] = row
	}
	return out, nil
}

// doneWords say what an action did, for the notice after it.
var doneWords = map[string]string{
	comments.ActionApprove: "approved",
	comments.ActionReject:  "rejected",
	comments.ActionDelete:  "deleted",
	comments.ActionBan:     "banned",
}

// doneNotice is the notice of the action just done, from the query the
// action redirected to.
func doneNotice(q url.Values) string {
	words, ok := doneWords[q.Get("done")]
	if !ok {
		return ""
	}
	n, _ := strconv.Atoi(q.Get("n"))
	var s string
	switch {
	case q.Get("done") == comments.ActionBan && n == 1:
		s = "1 reader banned."
	case q.Get("done") == comments.ActionBan:
		s = fmt.Sprintf("%d readers banned.", n)
	case n == 1:
		s = "1 comment " + words + "."
	default:
		s = fmt.Sprintf("%d comments %s.", n, words)
	}
	if held, _ := strconv.Atoi(q.Get("held")); held > 0 {
		s += fmt.Sprintf(" Their %d comment(s) waiting for approval were rejected.", held)
	}
	if skipped, _ := strconv.Atoi(q.Get("skipped")); skipped > 0 {
		s += fmt.Sprintf(" %d skipped: imported comments belong to no reader, and deleted ones are gone.", skipped)
	}
	return s
}

// doneError says why an action did nothing.
func doneError(code string) string {
	switch code {
	case "none":
		return "Nothing was done: select at least one comment first (the boxes beside the names)."
	case "many":
		return fmt.Sprintf("Nothing was done: at most %d comments at once.", maxCommentAction)
	}
	return ""
}

// commentAction applies one action: to the comment of the button pressed
// ("one" = "ACTION:ID"), or to every comment checked ("action" and "id"s).
// Each comment acted on is written to the audit log; the answer goes back
// to the queue, which says what was done.
func (a *Admin) commentAction(w http.ResponseWriter, r *http.Request) {
	if !web.ParseForm(w, r, maxCommentForm, "Too many comments selected at once.") {
		return
	}
	f := r.PostForm
	status := queueStatus(f.Get("status"))
	page, _ := strconv.Atoi(f.Get("page"))
	back := func(extra url.Values) {
		http.Redirect(w, r, queueLink(status, max(page, 1), extra), http.StatusSeeOther)
	}
	action, ids := f.Get("action"), f["id"]
	if one := f.Get("one"); one != "" {
		var id string
		action, id, _ = strings.Cut(one, ":")
		ids = []string{id}
	}
	if _, ok := doneWords[action]; !ok {
		http.Error(w, "No such action on comments.", http.StatusBadRequest)
		return
	}
	if len(ids) == 0 {
		back(url.Values{"error": {"none"}})
		return
	}
	if len(ids) > maxCommentAction {
		back(url.Values{"error": {"many"}})
		return
	}
	u, _ := auth.UserOf(r)
	m := a.moderator()
	var n, skipped, held int
	banned := map[int64]bool{}
	for _, s := range ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			http.Error(w, "A comment id is not a number.", http.StatusBadRequest)
			return
		}
		d, err := m.Apply(r.Context(), action, id, u.ID)
		if errors.Is(err, comments.ErrNotFound) || errors.Is(err, comments.ErrNoReader) {
			skipped++
			continue
		}
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		detail := fmt.Sprintf("by %s on %s (was %s)", d.Comment.Author, d.Comment.PostSlug, d.Was)
		if d.Rejected > 0 {
			detail += fmt.Sprintf("; %d held comment(s) rejected", d.Rejected)
		}
		if err := a.Audit(r, "comment."+action, "comment "+strconv.FormatInt(id, 10), detail); err != nil {
			a.serverError(w, r, err)
			return
		}
		held += d.Rejected
		if action == comments.ActionBan {
			if !banned[d.Comment.UserID] {
				banned[d.Comment.UserID] = true
				n++
			}
			continue
		}
		n++
	}
	extra := url.Values{"done": {action}, "n": {strconv.Itoa(n)}}
	if held > 0 {
		extra.Set("held", strconv.Itoa(held))
	}
	if skipped > 0 {
		extra.Set("skipped", strconv.Itoa(skipped))
	}
	back(extra)
}

// commentStream is the queue's live stream: every comment event (a new
// one, held or not, and each approval), from the moment it opens.
func (a *Admin) commentStream(w http.ResponseWriter, r *http.Request) {
	if a.Live == nil {
		http.Error(w, "Live updates are off in this process.", http.StatusServiceUnavailable)
		return
	}
	a.Live.Serve(w, r, live.Spec{Subjects: []string{events.AllComments}})
}

// withHeldCount lets the menu of the page next renders show how many
// comments wait for approval (one indexed count, made only when a menu
// renders).
func (a *Admin) withHeldCount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		next.ServeHTTP(w, r.WithContext(views.WithHeldComments(ctx, func() int {
			var n int
			if err := a.Data.Read.QueryRowContext(ctx, `SELECT count(*) FROM comments WHERE status = 'held'`).Scan(&n); err != nil {
				return 0
			}
			return n
		})))
	})
}
