package content

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"site/app/store"
)

// Store reads and writes content in data.db.
type Store struct {
	// DB is data.db.
	DB *store.DB
	// Now is the clock deciding what is published; time.Now by default.
	Now func() time.Time
	// Markdown renders bodies; its plain text feeds search.
	Markdown *Markdown
	// MediaBase is the URL of a cache (a CDN) whose origin is the site's
	// MediaPrefix, when objects.public_url sets one; empty links media
	// under MediaPrefix on the site. It is never the object store's public
	// bucket: variants live in the private bucket and only /media/ serves
	// them (MediaVisible).
	MediaBase string

	media mediaSet
}

// NewStore returns a Store over db with defaults set.
func NewStore(db *store.DB) *Store {
	return &Store{DB: db, Now: time.Now, Markdown: NewMarkdown()}
}

// SaveResult says what Save did.
type SaveResult string

// The outcomes of Save.
const (
	Created   SaveResult = "created"
	Updated   SaveResult = "updated"
	Unchanged SaveResult = "unchanged"
)

const postCols = `id, kind, slug, title, summary, body, cover_image, status, featured, published_at, updated_at, created_at, source,
	comment_count, comments_closed`

func scanPost(sc interface{ Scan(...any) error }) (*Post, error) {
	var p Post
	var kind, status string
	var featured, closed int
	var pub, upd, cre int64
	if err := sc.Scan(&p.ID, &kind, &p.Slug, &p.Title, &p.Summary, &p.Body, &p.CoverImage, &status,
		&featured, &pub, &upd, &cre, &p.Source, &p.CommentCount, &closed); err != nil {
		return nil, err
	}
	p.Kind, p.Status, p.Featured, p.CommentsClosed = Kind(kind), Status(status), featured != 0, closed != 0
	p.PublishedAt, p.UpdatedAt, p.CreatedAt = unix(pub), unix(upd), unix(cre)
	return &p, nil
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

func secs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// Save creates the entry of p's kind and slug, or updates it, and sets its
// tags to p.Tags (by slug; a new tag is created with its name). An update
// that changes nothing writes nothing, so page caches stay warm. p.ID and
// the times left zero are filled in.
func (s *Store) Save(ctx context.Context, p *Post) (SaveResult, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	now := s.Now().UTC().Truncate(time.Second)
	if p.PublishedAt.IsZero() && p.Status != StatusDraft {
		p.PublishedAt = now
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.PublishedAt
		if p.UpdatedAt.IsZero() {
			p.UpdatedAt = now
		}
	}
	text, err := s.Markdown.PlainText(p.Body)
	if err != nil {
		return "", fmt.Errorf("save %s: %w", p.Slug, err)
	}
	tx, err := s.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("save %s: %w", p.Slug, err)
	}
	defer tx.Rollback()
	result := Unchanged
	err = tx.QueryRowContext(ctx, `SELECT id FROM posts WHERE kind = ? AND slug = ?`, p.Kind, p.Slug).Scan(&p.ID)
	featured := 0
	if p.Featured {
		featured = 1
	}
	args := []any{p.Title, p.Summary, p.Body, text, p.CoverImage, p.Status, featured, secs(p.PublishedAt), secs(p.UpdatedAt), p.Source}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		p.CreatedAt = now
		err = tx.QueryRowContext(ctx, `INSERT INTO posts (title, summary, body, body_text, cover_image, status, featured,
			published_at, updated_at, source, kind, slug, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			append(args, p.Kind, p.Slug, secs(now))...).Scan(&p.ID)
		if err != nil {
			return "", fmt.Errorf("save %s: %w", p.Slug, err)
		}
		if err := takePath(ctx, tx, p.Path()); err != nil {
			return "", fmt.Errorf("save %s: %w", p.Slug, err)
		}
		result = Created
	case err != nil:
		return "", fmt.Errorf("save %s: %w", p.Slug, err)
	default:
		res, err := tx.ExecContext(ctx, `UPDATE posts SET title = ?1, summary = ?2, body = ?3, body_text = ?4,
			cover_image = ?5, status = ?6, featured = ?7, published_at = ?8, updated_at = ?9, source = ?10
			WHERE id = ?11 AND (title IS NOT ?1 OR summary IS NOT ?2 OR body IS NOT ?3 OR body_text IS NOT ?4
			OR cover_image IS NOT ?5 OR status IS NOT ?6 OR featured IS NOT ?7 OR published_at IS NOT ?8
			OR updated_at IS NOT ?9 OR source IS NOT ?10)`, append(args, p.ID)...)
		if err != nil {
			return "", fmt.Errorf("save %s: %w", p.Slug, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			result = Updated
		}
	}
	changed, err := setTags(ctx, tx, p.ID, p.Tags)
	if err != nil {
		return "", fmt.Errorf("save %s: tags: %w", p.Slug, err)
	}
	if changed && result == Unchanged {
		result = Updated
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("save %s: %w", p.Slug, err)
	}
	return result, nil
}

// setTags makes the post's tags exactly tags, touching only what differs.
func setTags(ctx context.Context, tx *sql.Tx, postID int64, tags []Tag) (bool, error) {
	want := map[string]bool{}
	changed := false
	for _, t := range tags {
		if t.Slug == "" {
			t.Slug = Slugify(t.Name)
		}
		if t.Name == "" {
			t.Name = t.Slug
		}
		if !ValidSlug(t.Slug) || want[t.Slug] {
			continue
		}
		want[t.Slug] = true
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (slug, name) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING`, t.Slug, t.Name); err != nil {
			return false, err
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO post_tags (post_id, tag_id)
			SELECT ?, id FROM tags WHERE slug = ?`, postID, t.Slug)
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			changed = true
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT t.id, t.slug FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = ?`, postID)
	if err != nil {
		return false, err
	}
	var drop []int64
	for rows.Next() {
		var id int64
		var slug string
		if err := rows.Scan(&id, &slug); err != nil {
			rows.Close()
			return false, err
		}
		if !want[slug] {
			drop = append(drop, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, id := range drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM post_tags WHERE post_id = ? AND tag_id = ?`, postID, id); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// Delete removes the entry of kind and slug; a missing one is ErrNotFound.
func (s *Store) Delete(ctx context.Context, kind Kind, slug string) error {
	res, err := s.DB.Write.ExecContext(ctx, `DELETE FROM posts WHERE kind = ? AND slug = ?`, kind, slug)
	if err != nil {
		return fmt.Errorf("delete %s: %w", slug, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// visible is the WHERE clause of entries readers may see; it takes the
// current Unix time as its one argument.
const visible = `status <> 'draft' AND published_at <= ?`

// Get returns the visible entry of kind and slug with its tags.
func (s *Store) Get(ctx context.Context, kind Kind, slug string) (*Post, error) {
	return s.getEntry(ctx, slug, s.DB.Read.QueryRowContext(ctx, `SELECT `+postCols+` FROM posts
		WHERE kind = ? AND slug = ? AND `+visible, kind, slug, s.Now().Unix()))
}

// GetAny returns the entry of kind and slug whatever its status, for the
// importer and the admin.
func (s *Store) GetAny(ctx context.Context, kind Kind, slug string) (*Post, error) {
	return s.getEntry(ctx, slug, s.DB.Read.QueryRowContext(ctx, `SELECT `+postCols+` FROM posts WHERE kind = ? AND slug = ?`, kind, slug))
}

// getEntry scans the one entry row selects, with its tags; ErrNotFound
// when there is none.
func (s *Store) getEntry(ctx context.Context, slug string, row *sql.Row) (*Post, error) {
	p, err := scanPost(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", slug, err)
	}
	if err := s.loadTags(ctx, []*Post{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// Query selects visible entries for List.
type Query struct {
	// Kind is the kind of entry; empty means posts.
	Kind Kind
	// Tag limits the list to entries with this tag slug.
	Tag string
	// Featured limits the list to featured entries.
	Featured bool
	// Offset and Limit page through the list; Limit 0 means all.
	Offset, Limit int
}

// List returns visible entries, newest first, with their tags, and how
// many match in all.
func (s *Store) List(ctx context.Context, q Query) ([]*Post, int, error) {
	if q.Kind == "" {
		q.Kind = KindPost
	}
	where := `kind = ? AND ` + visible
	args := []any{q.Kind, s.Now().Unix()}
	if q.Tag != "" {
		where += ` AND id IN (SELECT pt.post_id FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.slug = ?)`
		args = append(args, q.Tag)
	}
	if q.Featured {
		where += ` AND featured = 1`
	}
	var total int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM posts WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+postCols+` FROM posts WHERE `+where+`
		ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	var posts []*Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list: %w", err)
		}
		posts = append(posts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	if err := s.loadTags(ctx, posts); err != nil {
		return nil, 0, err
	}
	return posts, total, nil
}

// loadTags fills the Tags of posts with one query.
func (s *Store) loadTags(ctx context.Context, posts []*Post) error {
	if len(posts) == 0 {
		return nil
	}
	byID := make(map[int64]*Post, len(posts))
	ids := make([]any, 0, len(posts))
	for _, p := range posts {
		byID[p.ID] = p
		p.Tags = nil
		ids = append(ids, p.ID)
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT pt.post_id, t.slug, t.name FROM post_tags pt
		JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var t Tag
		if err := rows.Scan(&id, &t.Slug, &t.Name); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		byID[id].Tags = append(byID[id].Tags, t)
	}
	for _, p := range posts {
		slices.SortFunc(p.Tags, func(a, b Tag) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	}
	return rows.Err()
}

// Tags returns the tags of visible posts with their counts, by name.
func (s *Store) Tags(ctx context.Context) ([]Tag, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT t.slug, t.name, count(*) FROM tags t
		JOIN post_tags pt ON pt.tag_id = t.id JOIN posts p ON p.id = pt.post_id
		WHERE p.kind = 'post' AND p.status <> 'draft' AND p.published_at <= ?
		GROUP BY t.id ORDER BY lower(t.name)`, s.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	defer rows.Close()
	var tags []Tag
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.Slug, &t.Name, &t.Count); err != nil {
			return nil, fmt.Errorf("tags: %w", err)
		}
		tags = append(tags, t)
	}
	return tags, rows.Err()
}

// Tag returns the tag of slug; ErrNotFound when no visible post has it.
func (s *Store) Tag(ctx context.Context, slug string) (Tag, error) {
	var t Tag
	err := s.DB.Read.QueryRowContext(ctx, `SELECT t.slug, t.name, count(*) FROM tags t
		JOIN post_tags pt ON pt.tag_id = t.id JOIN posts p ON p.id = pt.post_id
		WHERE t.slug = ? AND p.kind = 'post' AND p.status <> 'draft' AND p.published_at <= ?
		GROUP BY t.id`, slug, s.Now().Unix()).Scan(&t.Slug, &t.Name, &t.Count)
	if errors.Is(err, sql.ErrNoRows) {
		return Tag{}, ErrNotFound
	}
	if err != nil {
		return Tag{}, fmt.Errorf("tag %s: %w", slug, err)
	}
	return t, nil
}

// Version is a number that changes whenever anything that can alter a
// page changes, whoever wrote it (triggers in data.db keep it).
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT version FROM content_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("content version: %w", err)
	}
	return v, nil
}

// NextPublish returns the earliest time after now at which a scheduled
// entry becomes visible, or the zero time when none waits.
func (s *Store) NextPublish(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	err := s.DB.Read.QueryRowContext(ctx, `SELECT min(published_at) FROM posts
		WHERE status <> 'draft' AND published_at > ?`, s.Now().Unix()).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("next publish: %w", err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return unix(at.Int64), nil
}

// LastUpdate returns the latest UpdatedAt of visible entries, for feeds.
func (s *Store) LastUpdate(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	err := s.DB.Read.QueryRowContext(ctx, `SELECT max(max(updated_at, published_at)) FROM posts WHERE `+visible, s.Now().Unix()).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("last update: %w", err)
	}
	return unix(at.Int64), nil
}
