package comments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
)

// ErrNoReader is returned for a ban of an imported comment's writer: it
// belongs to no reader of this site.
var ErrNoReader = errors.New("comments: an imported comment has no reader of this site to ban")

// Moderator applies the admin's decisions on comments, from the panel's
// queue or a mail's signed link, in one place: a comment becoming visible
// gets its live event here (the page caches follow data.db's
// content_version, and the reply notice is queued by a trigger in the same
// transaction, for the worker's Notifier).
type Moderator struct {
	// Store holds the comments.
	Store *Store
	// NC publishes the live events; nil publishes none.
	NC *nats.Conn
	// Logger receives what could not be announced (the decision stands).
	Logger *slog.Logger
}

// Decision is what a moderation action did.
type Decision struct {
	// Comment is the comment after the action (before it, for a delete).
	Comment Comment
	// Was is its status before.
	Was Status
	// Rejected counts the held comments a ban rejected.
	Rejected int
}

// Apply does action (ActionApprove, ActionReject, ActionDelete or
// ActionBan) on the comment with id; by is the admin acting (0 for a
// signed link).
func (m *Moderator) Apply(ctx context.Context, action string, id, by int64) (Decision, error) {
	switch action {
	case ActionApprove:
		return m.Approve(ctx, id)
	case ActionReject:
		return m.Reject(ctx, id)
	case ActionDelete:
		return m.Delete(ctx, id)
	case ActionBan:
		return m.Ban(ctx, id, by)
	}
	return Decision{}, fmt.Errorf("comments: no moderation action %q", action)
}

// Approve shows the comment to readers: its live event goes to everyone
// reading the post (and to the worker, which then mails the reader a reply
// answers, the first time it is approved).
func (m *Moderator) Approve(ctx context.Context, id int64) (Decision, error) {
	c, was, err := m.Store.SetStatus(ctx, id, Approved)
	if err != nil {
		return Decision{}, err
	}
	if was != Approved {
		m.announce(c)
	}
	return Decision{Comment: c, Was: was}, nil
}

// Reject keeps the comment out of every page (and takes it off the pages
// that showed it: their caches follow content_version).
func (m *Moderator) Reject(ctx context.Context, id int64) (Decision, error) {
	c, was, err := m.Store.SetStatus(ctx, id, Rejected)
	if err != nil {
		return Decision{}, err
	}
	return Decision{Comment: c, Was: was}, nil
}

// Delete removes the comment and its replies.
func (m *Moderator) Delete(ctx context.Context, id int64) (Decision, error) {
	c, err := m.Store.Get(ctx, id)
	if err != nil {
		return Decision{}, err
	}
	if err := m.Store.Delete(ctx, id); err != nil {
		return Decision{}, err
	}
	return Decision{Comment: c, Was: c.Status}, nil
}

// Ban refuses the new comments of the reader who wrote the comment with
// id, and rejects every comment of theirs still held (this one too when
// held); their approved comments stay until deleted one by one.
func (m *Moderator) Ban(ctx context.Context, id, by int64) (Decision, error) {
	c, err := m.Store.Get(ctx, id)
	if err != nil {
		return Decision{}, err
	}
	if c.UserID == 0 {
		return Decision{Comment: c, Was: c.Status}, ErrNoReader
	}
	if err := m.Store.Ban(ctx, c.UserID, by, fmt.Sprintf("comment %d", c.ID)); err != nil {
		return Decision{}, err
	}
	res, err := m.Store.DB.Write.ExecContext(ctx, `UPDATE comments SET status = 'rejected' WHERE user_id = ? AND status = 'held'`, c.UserID)
	if err != nil {
		return Decision{}, fmt.Errorf("comments: reject the held comments of %d: %w", c.UserID, err)
	}
	n, _ := res.RowsAffected()
	was := c.Status
	if c, err = m.Store.Get(ctx, id); err != nil {
		return Decision{}, err
	}
	return Decision{Comment: c, Was: was, Rejected: int(n)}, nil
}

func (m *Moderator) announce(c Comment) {
	if err := Announce(m.NC, c); err != nil {
		m.warn("live event not published", c, err)
	}
}

func (m *Moderator) warn(msg string, c Comment, err error) {
	if m.Logger != nil {
		m.Logger.Warn("comments: "+msg, "comment", c.ID, "post", c.PostSlug, "err", err)
	}
}
