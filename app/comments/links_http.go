package comments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"site/app/content"
	"site/app/web"
	"site/views"
)

// maxLinkForm bounds the body of a signed link's confirmation (four short
// fields).
const maxLinkForm = 4 << 10

// LinkPages is the route group of the signed links in the mails: the
// admins' one-click moderation and the readers' unsubscribe. Nobody signs
// in: the signature is the authority. A GET only shows what the link would
// do, with one button (mail scanners open links); the POST of that button
// checks the signature again and acts. A link changed in any part is
// refused with 403, one past its time with 410, each with a page saying
// so.
type LinkPages struct {
	// Signer checks the links.
	Signer *Signer
	// Moderator acts on comments (the live event of an approval included).
	Moderator *Moderator
	// Shell renders the pages and error pages.
	Shell *web.Server
	// Logger receives what fails beside the answer.
	Logger *slog.Logger
}

// Routes are the group's routes.
func (p *LinkPages) Routes() []web.Route {
	return []web.Route{
		{Pattern: "GET " + ModeratePath, Handler: http.HandlerFunc(p.moderatePage)},
		{Pattern: "POST " + ModeratePath, Handler: http.HandlerFunc(p.moderate)},
		{Pattern: "GET " + UnsubscribePath, Handler: http.HandlerFunc(p.unsubscribePage)},
		{Pattern: "POST " + UnsubscribePath, Handler: http.HandlerFunc(p.unsubscribe)},
	}
}

func (p *LinkPages) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// questions are the confirmation pages' headings and buttons by action.
var questions = map[string][2]string{
	ActionApprove: {"Approve this comment?", "Approve"},
	ActionReject:  {"Reject this comment?", "Reject"},
	ActionDelete:  {"Delete this comment?", "Delete"},
	ActionBan:     {"Ban this reader from commenting?", "Ban the reader"},
}

// send renders a link page; the page's URL holds the signature, so no
// Referer carries it anywhere.
func (p *LinkPages) send(w http.ResponseWriter, r *http.Request, code int, title string, l views.CommentLink) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	p.Shell.SendHTML(w, r, code, views.CommentLinkPage(p.Shell.PageMeta(r, title), l))
}

// refused answers a link that is not valid: 403 when changed, 410 when
// expired, each with the way on.
func (p *LinkPages) refused(w http.ResponseWriter, r *http.Request, err error, moderation bool) {
	l := views.CommentLink{Heading: "This link cannot be used"}
	code := http.StatusForbidden
	switch {
	case errors.Is(err, ErrLinkExpired) && moderation:
		code = http.StatusGone
		l.Message = fmt.Sprintf("This link has expired: the links in the mails work for %d days. Sign in and use the moderation queue.", int(ModerationLinkTTL.Hours()/24))
	case errors.Is(err, ErrLinkExpired):
		code = http.StatusGone
		l.Message = "This link has expired. Sign in and turn off reply emails when you next comment, or ask the site's owner."
	case moderation:
		l.Message = "This link is not valid: it was changed, cut short, or made for another site. Use the link exactly as the mail gives it, or sign in and use the moderation queue."
	default:
		l.Message = "This link is not valid: it was changed, cut short, or made for another site. Use the link exactly as the mail gives it."
	}
	if moderation {
		l.Links = [][2]string{{QueuePath, "The moderation queue (sign in)"}}
	}
	p.send(w, r, code, "Link not valid", l)
}

// verify reads and checks a link's fields (the query of a GET, the form of
// a POST) for one of actions.
func (p *LinkPages) verify(q url.Values, moderation bool) (Link, error) {
	l, err := p.Signer.Verify(q)
	if err != nil {
		return l, err
	}
	if (l.Action == ActionUnsubscribe) == moderation {
		return l, ErrLinkTampered
	}
	return l, nil
}

// fields are the hidden fields that carry a link to its POST.
func fields(q url.Values) [][2]string {
	return [][2]string{{"a", q.Get("a")}, {"id", q.Get("id")}, {"exp", q.Get("exp")}, {"sig", q.Get("sig")}}
}

// row is a comment as a link's page shows it.
func (p *LinkPages) row(ctx context.Context, c Comment) *views.CommentRow {
	row := &views.CommentRow{ID: c.ID, Post: c.PostTitle, Anchor: c.Anchor(), Author: c.Author, Source: c.Source,
		HTML: c.HTML, Status: string(c.Status), At: c.CreatedAt, Reply: c.ParentID != 0}
	var kind string
	if err := p.Moderator.Store.DB.Read.QueryRowContext(ctx, `SELECT p.kind, coalesce(u.address, '') FROM posts p
		LEFT JOIN users u ON u.id = ? WHERE p.id = ?`, c.UserID, c.PostID).Scan(&kind, &row.Address); err == nil {
		row.PostPath = (&content.Post{Kind: content.Kind(kind), Slug: c.PostSlug}).Path()
	}
	return row
}

// comment reads the comment a valid link names; false when it answered
// (gone, or an error).
func (p *LinkPages) comment(w http.ResponseWriter, r *http.Request, id int64) (Comment, bool) {
	c, err := p.Moderator.Store.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		p.send(w, r, http.StatusNotFound, "Comment gone", views.CommentLink{Heading: "This comment is gone",
			Message: "It was deleted (or its post was) after the mail was sent: there is nothing left to do.",
			Links:   [][2]string{{QueuePath, "The moderation queue (sign in)"}}})
		return Comment{}, false
	}
	if err != nil {
		p.Shell.ServerError(w, r, err)
		return Comment{}, false
	}
	return c, true
}

// moderatePage shows what a moderation link would do, with its button.
func (p *LinkPages) moderatePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l, err := p.verify(q, true)
	if err != nil {
		p.refused(w, r, err, true)
		return
	}
	c, ok := p.comment(w, r, l.ID)
	if !ok {
		return
	}
	page := views.CommentLink{Heading: questions[l.Action][0], Comment: p.row(r.Context(), c),
		Action: ModeratePath, Fields: fields(q), Button: questions[l.Action][1]}
	switch {
	case l.Action == ActionApprove && c.Status == Approved:
		page.Heading, page.Message, page.Action = "Already approved", "This comment is shown to readers already.", ""
	case l.Action == ActionReject && c.Status == Rejected:
		page.Heading, page.Message, page.Action = "Already rejected", "This comment is kept from readers already.", ""
	case l.Action == ActionBan && c.UserID == 0:
		page.Heading, page.Message, page.Action = "Nobody to ban", "This comment was imported: it belongs to no reader of this site.", ""
	case l.Action == ActionBan:
		page.Message = "They will not be able to comment any more, and their comments still held will be rejected; the ones shown stay until you delete them."
	case l.Action == ActionDelete:
		page.Message = "It is removed for good, with the replies to it."
	}
	if page.Action == "" {
		page.Links = [][2]string{{QueuePath, "The moderation queue (sign in)"}}
	}
	p.send(w, r, http.StatusOK, page.Heading, page)
}

// done says what each action did.
var done = map[string]string{
	ActionApprove: "Approved: readers see it now.",
	ActionReject:  "Rejected: readers no longer see it.",
	ActionDelete:  "Deleted, with the replies to it.",
	ActionBan:     "Banned: the reader can no longer comment.",
}

// moderate does what a moderation link says, after its confirmation.
func (p *LinkPages) moderate(w http.ResponseWriter, r *http.Request) {
	if !web.ParseForm(w, r, maxLinkForm, "") {
		return
	}
	l, err := p.verify(r.PostForm, true)
	if err != nil {
		p.refused(w, r, err, true)
		return
	}
	c, ok := p.comment(w, r, l.ID)
	if !ok {
		return
	}
	d, err := p.Moderator.Apply(r.Context(), l.Action, l.ID, 0)
	if errors.Is(err, ErrNoReader) {
		p.send(w, r, http.StatusConflict, "Nobody to ban", views.CommentLink{Heading: "Nobody to ban",
			Message: "This comment was imported: it belongs to no reader of this site.", Comment: p.row(r.Context(), c)})
		return
	}
	if err != nil {
		p.Shell.ServerError(w, r, err)
		return
	}
	detail := "by a signed link in a mail"
	if d.Rejected > 0 {
		detail += fmt.Sprintf("; %d held comment(s) rejected", d.Rejected)
	}
	if err := p.audit(r, "comment."+l.Action, "comment "+strconv.FormatInt(l.ID, 10), detail); err != nil {
		p.logger().Error("comments: audit", "err", err)
	}
	msg := done[l.Action]
	if d.Rejected > 0 {
		msg += fmt.Sprintf(" %d of their comments waiting for approval were rejected.", d.Rejected)
	}
	page := views.CommentLink{Heading: "Done", Message: msg, Links: [][2]string{{QueuePath, "The moderation queue (sign in)"}}}
	if l.Action != ActionDelete {
		page.Comment = p.row(r.Context(), d.Comment)
	}
	p.send(w, r, http.StatusOK, "Done", page)
}

// audit records an action of a signed link in the admin panel's audit log:
// no one signed in, so the actor is the link.
func (p *LinkPages) audit(r *http.Request, action, target, detail string) error {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	if _, err := p.Moderator.Store.DB.Write.ExecContext(r.Context(), `INSERT INTO audit_log (at, user_id, address, action, target, detail, ip)
		VALUES (?, 0, 'signed link', ?, ?, ?, ?)`, p.Moderator.Store.now().Unix(), action, target, detail, ip); err != nil {
		return fmt.Errorf("comments: audit %s: %w", action, err)
	}
	return nil
}

// unsubscribePage shows what an unsubscribe link would do, with its button.
func (p *LinkPages) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, err := p.verify(q, false); err != nil {
		p.refused(w, r, err, false)
		return
	}
	p.send(w, r, http.StatusOK, "Stop reply emails", views.CommentLink{Heading: "Stop emails about replies?",
		Message: fmt.Sprintf("%s will no longer email you when someone replies to one of your comments.", p.Shell.SiteName),
		Action:  UnsubscribePath, Fields: fields(q), Button: "Stop these emails"})
}

// unsubscribe turns a reader's reply emails off, after the confirmation.
func (p *LinkPages) unsubscribe(w http.ResponseWriter, r *http.Request) {
	if !web.ParseForm(w, r, maxLinkForm, "") {
		return
	}
	l, err := p.verify(r.PostForm, false)
	if err != nil {
		p.refused(w, r, err, false)
		return
	}
	if _, err := p.Moderator.Store.Unsubscribe(r.Context(), l.ID); err != nil {
		p.Shell.ServerError(w, r, err)
		return
	}
	p.send(w, r, http.StatusOK, "Reply emails stopped", views.CommentLink{Heading: "Done",
		Message: "You will get no more emails about replies to your comments. A comment you write later with “email me replies” checked turns them on for that comment.",
		Links:   [][2]string{{"/", "Back to " + p.Shell.SiteName}}})
}
