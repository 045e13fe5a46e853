// Package comments is readers' comments on posts: the store (comments,
// bans and the per-post switch in data.db), the Markdown subset and its
// sanitizer, the moderation policy and spam rules, the routes readers post
// through, the comments section of a post page, and the live events that
// show a new comment to everyone reading the post.
package comments

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"site/app/store"
)

// Status is where a comment is in moderation.
type Status string

// The statuses of a comment.
const (
	// Held waits for the admin's approval; only its writer sees it.
	Held Status = "held"
	// Approved is shown to every reader.
	Approved Status = "approved"
	// Rejected is kept out of every page.
	Rejected Status = "rejected"
)

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool { return s == Held || s == Approved || s == Rejected }

// Sources of a comment.
const (
	SourceSite   = "site"   // written on the site
	SourceDisqus = "disqus" // imported from a Disqus export
	SourceWXR    = "wxr"    // imported from a WordPress export
)

// Errors of the store.
var (
	// ErrNotFound: no such comment.
	ErrNotFound = errors.New("comments: no such comment")
	// ErrBadParent: a reply must answer a top-level comment of the same post.
	ErrBadParent = errors.New("comments: a reply must answer a top-level comment of the same post")
)

// Comment is one comment on a post.
type Comment struct {
	ID     int64
	PostID int64
	// PostSlug and PostTitle name the post (filled by Get, List and Queue).
	PostSlug, PostTitle string
	// ParentID is the top-level comment a reply answers; 0 for a top-level
	// comment.
	ParentID int64
	// UserID is the reader who wrote it; 0 for an imported comment.
	UserID int64
	// Author is the name shown with it.
	Author string
	// Body is the Markdown as written; HTML is its sanitized rendering.
	Body, HTML string
	Status     Status
	CreatedAt  time.Time
	// EditedAt and ApprovedAt are zero until it is edited or approved.
	EditedAt, ApprovedAt time.Time
	// Source is SourceSite or an importer's; SourceID is the importer's id
	// of it ("" for SourceSite).
	Source, SourceID string
	// Notify: the writer wants an email when a reply to it is approved.
	Notify bool
}

// IsReply reports whether the comment answers another.
func (c *Comment) IsReply() bool { return c.ParentID != 0 }

// Anchor is the id of the comment's element on the post page.
func (c *Comment) Anchor() string { return fmt.Sprintf("comment-%d", c.ID) }

// Store reads and writes comments in data.db.
type Store struct {
	// DB is data.db.
	DB *store.DB
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewStore returns a Store over db.
func NewStore(db *store.DB) *Store { return &Store{DB: db} }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

func nullInt(v int64) sql.NullInt64   { return sql.NullInt64{Int64: v, Valid: v != 0} }
func nullStr(v string) sql.NullString { return sql.NullString{String: v, Valid: v != ""} }

// Add stores c as a new comment and sets its ID (and CreatedAt when zero,
// ApprovedAt when approved). Its HTML is made from Body by Render when
// empty, and passed through Sanitize when given (an importer's HTML): no
// unsanitized HTML is ever stored. A reply's parent must be a top-level
// comment of the same post (ErrBadParent). An imported comment whose
// (Source, SourceID) is stored already is not added again: Add returns
// (false, nil) and sets c.ID to the stored one's.
func (s *Store) Add(ctx context.Context, c *Comment) (added bool, err error) {
	c.Source = cmp.Or(c.Source, SourceSite)
	c.Status = cmp.Or(c.Status, Held)
	if !c.Status.Valid() {
		return false, fmt.Errorf("comments: add: status %q", c.Status)
	}
	if (c.Source == SourceSite) != (c.SourceID == "") {
		return false, fmt.Errorf("comments: add: source %q needs a source id exactly when imported", c.Source)
	}
	if c.HTML == "" {
		if c.HTML, err = Render(c.Body); err != nil {
			return false, err
		}
	} else {
		c.HTML = Sanitize(c.HTML)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	if c.Status == Approved && c.ApprovedAt.IsZero() {
		c.ApprovedAt = s.now()
	}
	tx, err := s.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("comments: add: %w", err)
	}
	defer tx.Rollback()
	if c.ParentID != 0 {
		var post int64
		var grand sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT post_id, parent_id FROM comments WHERE id = ?`, c.ParentID).Scan(&post, &grand)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (post != c.PostID || grand.Valid) {
			return false, ErrBadParent
		} else if err != nil {
			return false, fmt.Errorf("comments: add: parent: %w", err)
		}
	}
	notify := 0
	if c.Notify {
		notify = 1
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO comments (post_id, parent_id, user_id, author, body, html, status,
		created_at, edited_at, approved_at, source, source_id, notify) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (source, source_id) WHERE source_id IS NOT NULL DO NOTHING RETURNING id`,
		c.PostID, nullInt(c.ParentID), nullInt(c.UserID), c.Author, c.Body, c.HTML, c.Status,
		unix(c.CreatedAt), unix(c.EditedAt), unix(c.ApprovedAt), c.Source, nullStr(c.SourceID), notify).Scan(&c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM comments WHERE source = ? AND source_id = ?`,
			c.Source, c.SourceID).Scan(&c.ID); err != nil {
			return false, fmt.Errorf("comments: add: imported: %w", err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("comments: add: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("comments: add: %w", err)
	}
	return true, nil
}

const commentCols = `c.id, c.post_id, p.slug, p.title, coalesce(c.parent_id, 0), coalesce(c.user_id, 0), c.author, c.body,
	c.html, c.status, c.created_at, c.edited_at, c.approved_at, c.source, coalesce(c.source_id, ''), c.notify`

const commentFrom = ` FROM comments c JOIN posts p ON p.id = c.post_id `

func scanComment(sc interface{ Scan(...any) error }) (Comment, error) {
	var c Comment
	var created, edited, approved int64
	var notify int
	err := sc.Scan(&c.ID, &c.PostID, &c.PostSlug, &c.PostTitle, &c.ParentID, &c.UserID, &c.Author, &c.Body,
		&c.HTML, &c.Status, &created, &edited, &approved, &c.Source, &c.SourceID, &notify)
	c.CreatedAt, c.EditedAt, c.ApprovedAt, c.Notify = fromUnix(created), fromUnix(edited), fromUnix(approved), notify != 0
	return c, err
}

func (s *Store) query(ctx context.Context, db *sql.DB, where string, args ...any) ([]Comment, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+commentCols+commentFrom+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Comment
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Get returns the comment with id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Comment, error) {
	c, err := scanComment(s.DB.Read.QueryRowContext(ctx, `SELECT `+commentCols+commentFrom+`WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Comment{}, ErrNotFound
	}
	if err != nil {
		return Comment{}, fmt.Errorf("comments: get %d: %w", id, err)
	}
	return c, nil
}

// List returns the comments of a post that viewer may see, in reading
// order: approved ones, and the viewer's own held ones (viewer 0, an
// anonymous reader, sees approved ones only). Top-level comments come
// oldest first, each followed by its replies, oldest first; a reply whose
// parent the viewer cannot see is left out.
func (s *Store) List(ctx context.Context, postID, viewer int64) ([]Comment, error) {
	all, err := s.query(ctx, s.DB.Read, `WHERE c.post_id = ? AND (c.status = 'approved' OR c.status = 'held' AND c.user_id = ?)
		ORDER BY c.created_at, c.id`, postID, viewer)
	if err != nil {
		return nil, fmt.Errorf("comments: list post %d: %w", postID, err)
	}
	return thread(all), nil
}

// thread orders comments (oldest first) as pages show them: each top-level
// comment followed by its replies; replies to a comment not in the list
// are dropped.
func thread(all []Comment) []Comment {
	replies := map[int64][]Comment{}
	for _, c := range all {
		if c.IsReply() {
			replies[c.ParentID] = append(replies[c.ParentID], c)
		}
	}
	out := make([]Comment, 0, len(all))
	for _, c := range all {
		if !c.IsReply() {
			out = append(out, c)
			out = append(out, replies[c.ID]...)
		}
	}
	return out
}

// Edit replaces a comment's text (rendered again) and sets EditedAt; it
// keeps its status. It returns the comment as it now is.
func (s *Store) Edit(ctx context.Context, id int64, body string) (Comment, error) {
	html, err := Render(body)
	if err != nil {
		return Comment{}, err
	}
	res, err := s.DB.Write.ExecContext(ctx, `UPDATE comments SET body = ?, html = ?, edited_at = ? WHERE id = ?`,
		body, html, s.now().Unix(), id)
	if err := affected(res, err); err != nil {
		return Comment{}, fmt.Errorf("comments: edit %d: %w", id, err)
	}
	return s.get(ctx, id)
}

// get reads a comment through the writer, to see what it just wrote.
func (s *Store) get(ctx context.Context, id int64) (Comment, error) {
	c, err := scanComment(s.DB.Write.QueryRowContext(ctx, `SELECT `+commentCols+commentFrom+`WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Comment{}, ErrNotFound
	}
	return c, err
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Delete removes a comment and its replies.
func (s *Store) Delete(ctx context.Context, id int64) error {
	res, err := s.DB.Write.ExecContext(ctx, `DELETE FROM comments WHERE id = ?`, id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("comments: delete %d: %w", id, err)
	}
	return nil
}

// SetStatus moves a comment to status (ApprovedAt is set on its first
// approval) and returns it as it now is, with the status it had before.
func (s *Store) SetStatus(ctx context.Context, id int64, status Status) (c Comment, was Status, err error) {
	if !status.Valid() {
		return Comment{}, "", fmt.Errorf("comments: status %q", status)
	}
	tx, err := s.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		return Comment{}, "", fmt.Errorf("comments: set %d %s: %w", id, status, err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT status FROM comments WHERE id = ?`, id).Scan(&was)
	if errors.Is(err, sql.ErrNoRows) {
		return Comment{}, "", ErrNotFound
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, `UPDATE comments SET status = ?1,
			approved_at = CASE WHEN ?1 = 'approved' AND approved_at = 0 THEN ?2 ELSE approved_at END
			WHERE id = ?3`, status, s.now().Unix(), id)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return Comment{}, "", fmt.Errorf("comments: set %d %s: %w", id, status, err)
	}
	c, err = s.get(ctx, id)
	return c, was, err
}

// Ban refuses the reader's new comments from now on; by is the admin.
func (s *Store) Ban(ctx context.Context, userID, by int64, reason string) error {
	if _, err := s.DB.Write.ExecContext(ctx, `INSERT INTO comment_bans (user_id, banned_at, banned_by, reason)
		VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING`, userID, s.now().Unix(), nullInt(by), reason); err != nil {
		return fmt.Errorf("comments: ban %d: %w", userID, err)
	}
	return nil
}

// Unban lets a banned reader comment again.
func (s *Store) Unban(ctx context.Context, userID int64) error {
	if _, err := s.DB.Write.ExecContext(ctx, `DELETE FROM comment_bans WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("comments: unban %d: %w", userID, err)
	}
	return nil
}

// IsBanned reports whether the reader is banned from commenting.
func (s *Store) IsBanned(ctx context.Context, userID int64) (bool, error) {
	var n int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM comment_bans WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("comments: banned %d: %w", userID, err)
	}
	return n > 0, nil
}

// Counts returns the number of approved comments of each post in ids
// (posts without any are absent).
func (s *Store) Counts(ctx context.Context, ids []int64) (map[int64]int, error) {
	out := map[int64]int{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT id, comment_count FROM posts WHERE comment_count > 0 AND id IN (?`+
		strings.Repeat(",?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("comments: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("comments: counts: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// QueueQuery selects comments for the moderation queue.
type QueueQuery struct {
	// Status limits the list to one status; empty means every status.
	Status Status
	// PostID limits the list to one post; 0 means every post.
	PostID int64
	// Offset and Limit page through the list; Limit 0 means 50.
	Offset, Limit int
}

// Queue lists comments for moderation: held ones oldest first (the order
// they should be dealt with), any other selection newest first; and how
// many match in all.
func (s *Store) Queue(ctx context.Context, q QueueQuery) ([]Comment, int, error) {
	where, args := "WHERE 1", []any{}
	if q.Status != "" {
		where += " AND c.status = ?"
		args = append(args, q.Status)
	}
	if q.PostID != 0 {
		where += " AND c.post_id = ?"
		args = append(args, q.PostID)
	}
	var total int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM comments c `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("comments: queue: %w", err)
	}
	order := " ORDER BY c.created_at DESC, c.id DESC"
	if q.Status == Held {
		order = " ORDER BY c.created_at, c.id"
	}
	list, err := s.query(ctx, s.DB.Read, where+order+" LIMIT ? OFFSET ?", append(args, cmp.Or(q.Limit, 50), max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("comments: queue: %w", err)
	}
	return list, total, nil
}

// HasApproved reports whether the reader has an approved comment (the
// "first" moderation policy holds a reader's comments until one is).
func (s *Store) HasApproved(ctx context.Context, userID int64) (bool, error) {
	var n int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM comments
		WHERE user_id = ? AND status = 'approved' LIMIT 1`, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("comments: approved of %d: %w", userID, err)
	}
	return n > 0, nil
}

// Duplicate reports whether the reader wrote the same text on the post at
// or after since (any status).
func (s *Store) Duplicate(ctx context.Context, userID, postID int64, body string, since time.Time) (bool, error) {
	var n int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM comments
		WHERE user_id = ? AND created_at >= ? AND post_id = ? AND body = ?`,
		userID, since.Unix(), postID, body).Scan(&n); err != nil {
		return false, fmt.Errorf("comments: duplicate: %w", err)
	}
	return n > 0, nil
}

// SetClosed opens or closes a post's comments (the admin's switch).
func (s *Store) SetClosed(ctx context.Context, postID int64, closed bool) error {
	v := 0
	if closed {
		v = 1
	}
	if _, err := s.DB.Write.ExecContext(ctx, `UPDATE posts SET comments_closed = ? WHERE id = ? AND comments_closed <> ?`,
		v, postID, v); err != nil {
		return fmt.Errorf("comments: close post %d: %w", postID, err)
	}
	return nil
}

// MaxDisplayName bounds a reader's display name, in characters.
const MaxDisplayName = 60

// SetDisplayName remembers the name a reader comments under.
func (s *Store) SetDisplayName(ctx context.Context, userID int64, name string) error {
	if _, err := s.DB.Write.ExecContext(ctx, `UPDATE users SET display_name = ? WHERE id = ? AND display_name <> ?`,
		name, userID, name); err != nil {
		return fmt.Errorf("comments: display name of %d: %w", userID, err)
	}
	return nil
}
