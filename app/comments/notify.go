package comments

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"

	"site/app/content"
	"site/app/jobs"
	"site/app/store"
)

// DefaultDigestEvery is the least time between two mails to the admins
// about new comments.
const DefaultDigestEvery = 10 * time.Minute

// Limits of the mails.
const (
	// maxDigest is the most comments one admins' mail names; more wait
	// for the next.
	maxDigest = 100
	// maxNoticeText bounds a comment's text in a mail.
	maxNoticeText = 2000
	// pollEvery is how often the Notifier looks for mails to send when
	// nothing pokes it.
	pollEvery = 15 * time.Second
)

// QueuePath is the moderation queue in the admin panel.
const QueuePath = "/admin/comments"

// Notifier is the worker's part of comments: it mails what data.db's
// comment_notices holds (rows written by triggers with the comment they
// are about, so no crash loses one) through jobs.notify, and marks them
// sent.
//
//   - The admins hear of each comment written on the site (not of an
//     admin's own): the first after a quiet period at once, the ones that
//     arrive in the next Every together in one digest when it ends, so an
//     admin gets at most one mail per Every. Each comment comes with signed
//     one-click links (approve while held, reject, delete, ban).
//   - The reader a reply answers hears of it once the reply is first
//     approved, when they asked for replies (the comment's notify), have an
//     email address (phone-only readers get no mail) and did not write the
//     reply; the mail has a signed unsubscribe link.
//
// Flush sends what is due; Run calls it every 15 seconds and whenever Poke
// is called (on a comment's live event), until its context ends.
type Notifier struct {
	// DB is data.db (the writer marks notices sent; the reader pool reads
	// comments, posts and readers).
	DB *store.DB
	// Signer signs the one-click links.
	Signer *Signer
	// Site names the site in subjects; SiteURL starts every link.
	Site, SiteURL string
	// Admins receive the admins' mails (notify.admins).
	Admins []string
	// Every is the least time between two admins' mails
	// (DefaultDigestEvery when 0).
	Every time.Duration
	// Send hands one email to jobs.notify; dedupe names it, so that a mail
	// handed on twice is sent once.
	Send func(ctx context.Context, n jobs.NotifyJob, dedupe string) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives what could not be sent.
	Logger *slog.Logger

	mu   sync.Mutex
	poke chan struct{}
	once sync.Once
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func (n *Notifier) pokes() chan struct{} {
	n.once.Do(func() { n.poke = make(chan struct{}, 1) })
	return n.poke
}

// Poke asks Run to flush now (without waiting).
func (n *Notifier) Poke() {
	select {
	case n.pokes() <- struct{}{}:
	default:
	}
}

// Run flushes at start, every 15 seconds and on each Poke until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if err := n.Flush(ctx); err != nil && ctx.Err() == nil && n.Logger != nil {
			n.Logger.Warn("comment mails", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.pokes():
		}
	}
}

// Flush sends the reply notices waiting and, when one is due, the admins'
// mail of the new comments waiting.
func (n *Notifier) Flush(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return errors.Join(n.flushReplies(ctx), n.flushNew(ctx))
}

// noticeRow is a waiting notice with what its mail needs.
type noticeRow struct {
	Comment
	postKind      string
	address, role string // the writer's
	present       bool   // the comment still exists
}

// markSent marks the notices of kind on ids sent at.
func (n *Notifier) markSent(ctx context.Context, kind string, ids []int64, at int64) error {
	for _, id := range ids {
		if _, err := n.DB.Write.ExecContext(ctx, `UPDATE comment_notices SET sent_at = ? WHERE comment_id = ? AND kind = ?`,
			at, id, kind); err != nil {
			return fmt.Errorf("comment mails: mark %s %d: %w", kind, id, err)
		}
	}
	return nil
}

// waiting reads the notices of kind not sent, oldest first, with their
// comment, post and writer.
func (n *Notifier) waiting(ctx context.Context, kind string, limit int) ([]noticeRow, error) {
	rows, err := n.DB.Read.QueryContext(ctx, `SELECT q.comment_id, c.id IS NOT NULL, coalesce(p.kind, ''),
		coalesce(c.post_id, 0), coalesce(p.slug, ''), coalesce(p.title, ''), coalesce(c.parent_id, 0), coalesce(c.user_id, 0),
		coalesce(c.author, ''), coalesce(c.html, ''), coalesce(c.status, ''), coalesce(c.created_at, 0), coalesce(c.notify, 0),
		coalesce(u.address, ''), coalesce(u.role, '')
		FROM comment_notices q
		LEFT JOIN comments c ON c.id = q.comment_id
		LEFT JOIN posts p ON p.id = c.post_id
		LEFT JOIN users u ON u.id = c.user_id
		WHERE q.kind = ? AND q.sent_at = 0 ORDER BY q.comment_id LIMIT ?`, kind, limit)
	if err != nil {
		return nil, fmt.Errorf("comment mails: read %s: %w", kind, err)
	}
	defer rows.Close()
	var out []noticeRow
	for rows.Next() {
		var r noticeRow
		var created int64
		var notify int
		if err := rows.Scan(&r.ID, &r.present, &r.postKind, &r.PostID, &r.PostSlug, &r.PostTitle, &r.ParentID, &r.UserID,
			&r.Author, &r.HTML, &r.Status, &created, &notify, &r.address, &r.role); err != nil {
			return nil, fmt.Errorf("comment mails: read %s: %w", kind, err)
		}
		r.CreatedAt, r.Notify = fromUnix(created), notify != 0
		out = append(out, r)
	}
	return out, rows.Err()
}

// commentURL is the absolute URL of the comment on its entry's page.
func (n *Notifier) commentURL(r noticeRow) string {
	p := &content.Post{Kind: content.Kind(r.postKind), Slug: r.PostSlug}
	return n.SiteURL + p.Path() + "#" + r.Anchor()
}

// flushNew sends the admins' mail of the new comments waiting, unless one
// went less than Every ago. A comment gone, or an admin's own, is marked
// without a mail.
func (n *Notifier) flushNew(ctx context.Context) error {
	every, now := cmp.Or(n.Every, DefaultDigestEvery), n.now()
	var last int64
	if err := n.DB.Read.QueryRowContext(ctx, `SELECT coalesce(max(sent_at), 0) FROM comment_notices WHERE kind = 'new'`).Scan(&last); err != nil {
		return fmt.Errorf("comment mails: %w", err)
	}
	if last > 0 && now.Sub(time.Unix(last, 0)) < every {
		return nil
	}
	rows, err := n.waiting(ctx, "new", maxDigest)
	if err != nil || len(rows) == 0 {
		return err
	}
	var list []noticeRow
	var skip, ids []int64
	for _, r := range rows {
		if !r.present || r.role == "admin" {
			skip = append(skip, r.ID)
			continue
		}
		list = append(list, r)
		ids = append(ids, r.ID)
	}
	// Marked with an old time: a skipped notice does not start a period.
	if err := n.markSent(ctx, "new", skip, 1); err != nil || len(list) == 0 {
		return err
	}
	if len(n.Admins) == 0 {
		if n.Logger != nil {
			n.Logger.Warn("new comments not mailed: notify.admins is empty", "comments", len(list))
		}
		return n.markSent(ctx, "new", ids, now.Unix())
	}
	mail := n.adminMail(list, every)
	for _, to := range n.Admins {
		m := mail
		m.Email = to
		dedupe := "comment-new-" + to + "-" + strconv.FormatInt(ids[0], 10) + "-" + strconv.FormatInt(ids[len(ids)-1], 10)
		if err := n.Send(ctx, m, dedupe); err != nil {
			// Nothing marked: the next flush sends again, and the mails
			// already handed on keep their ids (the same comments), so
			// they go once.
			return fmt.Errorf("comment mails: new comments to %s: %w", to, err)
		}
	}
	if err := n.markSent(ctx, "new", ids, now.Unix()); err != nil {
		return err
	}
	// Notices mailed a month ago are no longer needed (the period's start
	// is the newest one).
	if _, err := n.DB.Write.ExecContext(ctx, `DELETE FROM comment_notices WHERE sent_at BETWEEN 1 AND ?`,
		now.Add(-30*24*time.Hour).Unix()); err != nil {
		return fmt.Errorf("comment mails: forget old notices: %w", err)
	}
	return nil
}

// adminMail is the admins' mail of list, with the signed links.
func (n *Notifier) adminMail(list []noticeRow, every time.Duration) jobs.NotifyJob {
	notes := make([]Notice, len(list))
	for i, r := range list {
		no := Notice{CommentID: r.ID, Post: r.PostTitle, URL: n.commentURL(r), Author: r.Author, Address: r.address,
			Text: clipText(PlainText(r.HTML), maxNoticeText), Status: r.Status, Reply: r.ParentID != 0, At: r.CreatedAt,
			Links: map[string]string{}}
		actions := []string{ActionReject, ActionDelete}
		if r.Status == Held {
			actions = append([]string{ActionApprove}, actions...)
		}
		if r.UserID != 0 {
			actions = append(actions, ActionBan)
		}
		for _, a := range actions {
			no.Links[a] = n.Signer.URL(n.SiteURL, a, r.ID)
		}
		notes[i] = no
	}
	return digestMail(n.Site, notes, every, n.SiteURL+QueuePath)
}

// flushReplies sends each reply notice waiting to the reader the reply
// answers, when they are to have one; every notice read is marked.
func (n *Notifier) flushReplies(ctx context.Context) error {
	rows, err := n.waiting(ctx, "reply", maxDigest)
	if err != nil {
		return err
	}
	now := n.now().Unix()
	for _, r := range rows {
		if err := n.reply(ctx, r); err != nil {
			return err
		}
		if err := n.markSent(ctx, "reply", []int64{r.ID}, now); err != nil {
			return err
		}
	}
	return nil
}

// reply mails the notice of reply r, when its parent's writer is to have
// one.
func (n *Notifier) reply(ctx context.Context, r noticeRow) error {
	if !r.present || r.ParentID == 0 || r.Status != Approved {
		return nil
	}
	var parentUser int64
	var notify int
	var address string
	err := n.DB.Read.QueryRowContext(ctx, `SELECT coalesce(c.user_id, 0), c.notify, coalesce(u.address, '')
		FROM comments c LEFT JOIN users u ON u.id = c.user_id WHERE c.id = ?`, r.ParentID).Scan(&parentUser, &notify, &address)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("comment mails: parent of %d: %w", r.ID, err)
	}
	if notify == 0 || parentUser == 0 || parentUser == r.UserID || address == "" || strings.HasPrefix(address, "+") {
		return nil
	}
	mail := replyMail(n.Site, r.Author, r.PostTitle, clipText(PlainText(r.HTML), maxNoticeText), n.commentURL(r),
		n.Signer.URL(n.SiteURL, ActionUnsubscribe, parentUser))
	mail.Email = address
	if err := n.Send(ctx, mail, "comment-reply-"+strconv.FormatInt(r.ID, 10)); err != nil {
		return fmt.Errorf("comment mails: reply %d: %w", r.ID, err)
	}
	return nil
}

// Unsubscribe turns off the reply notices of every comment of the reader:
// what the signed link of a reply notice does. It reports how many of
// their comments had them on.
func (s *Store) Unsubscribe(ctx context.Context, userID int64) (int, error) {
	res, err := s.DB.Write.ExecContext(ctx, `UPDATE comments SET notify = 0 WHERE user_id = ? AND notify <> 0`, userID)
	if err != nil {
		return 0, fmt.Errorf("comments: unsubscribe %d: %w", userID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

var (
	textPolicy = bluemonday.StrictPolicy()
	blockEnd   = regexp.MustCompile(`(?i)</p>|</li>|</blockquote>|</pre>`)
	lineBreak  = regexp.MustCompile(`(?i)<br\s*/?>\n?`)
	manyBlank  = regexp.MustCompile(`\n{3,}`)
)

// PlainText is a comment's sanitized HTML as text for a mail: the markup
// gone, paragraphs and line breaks kept, entities decoded.
func PlainText(h string) string {
	h = blockEnd.ReplaceAllStringFunc(h, func(m string) string { return m + "\n\n" })
	h = lineBreak.ReplaceAllString(h, "\n")
	t := html.UnescapeString(textPolicy.Sanitize(h))
	return strings.TrimSpace(manyBlank.ReplaceAllString(t, "\n\n"))
}

// clipText cuts s to at most n bytes on a character boundary, with "…".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
