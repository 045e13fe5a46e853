package content

import (
	"context"
	"fmt"
)

// AllQuery selects entries for the admin's list, whatever their status.
type AllQuery struct {
	// Words searches titles, summaries and bodies (all words, the last as
	// a prefix); empty matches everything.
	Words string
	// State is draft, scheduled (not yet visible) or published (visible);
	// empty means all three.
	State Status
	// Kind limits the list to one kind; empty means all.
	Kind Kind
	// Tag limits the list to entries with this tag slug.
	Tag string
	// Offset and Limit page through the list; Limit 0 means all.
	Offset, Limit int
}

// listCols are postCols without the body and the comments' columns,
// which a list does not show.
const listCols = `id, kind, slug, title, summary, '', cover_image, status, featured, published_at, updated_at, created_at, source, 0, 0`

// ListAll returns entries of every status for the admin, the latest
// change first, with their tags, and how many match in all. A query
// with no word to search for matches nothing. Both queries read the
// covering index posts_admin, never the rows beyond the page's own.
func (s *Store) ListAll(ctx context.Context, q AllQuery) ([]*Post, int, error) {
	where, args := `1`, []any{}
	if q.Words != "" {
		fq := ftsQuery(q.Words)
		if fq == "" {
			return nil, 0, nil
		}
		where += ` AND id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)`
		args = append(args, fq)
	}
	if q.Kind != "" {
		where += ` AND kind = ?`
		args = append(args, q.Kind)
	}
	switch q.State {
	case StatusDraft:
		where += ` AND status = 'draft'`
	case StatusScheduled:
		where += ` AND status <> 'draft' AND published_at > ?`
		args = append(args, s.Now().Unix())
	case StatusPublished:
		where += ` AND ` + visible
		args = append(args, s.Now().Unix())
	}
	if q.Tag != "" {
		where += ` AND id IN (SELECT pt.post_id FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.slug = ?)`
		args = append(args, q.Tag)
	}
	var total int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM posts INDEXED BY posts_admin WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list all: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+listCols+` FROM posts INDEXED BY posts_admin WHERE `+where+`
		ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("list all: %w", err)
	}
	defer rows.Close()
	var posts []*Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list all: %w", err)
		}
		posts = append(posts, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list all: %w", err)
	}
	if err := s.loadTags(ctx, posts); err != nil {
		return nil, 0, err
	}
	return posts, total, nil
}

// AllTags returns every tag with the number of entries of any kind and
// status that have it, by name.
func (s *Store) AllTags(ctx context.Context) ([]Tag, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT t.slug, t.name, count(pt.post_id) FROM tags t
		LEFT JOIN post_tags pt ON pt.tag_id = t.id GROUP BY t.id ORDER BY lower(t.name)`)
	if err != nil {
		return nil, fmt.Errorf("all tags: %w", err)
	}
	defer rows.Close()
	var tags []Tag
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.Slug, &t.Name, &t.Count); err != nil {
			return nil, fmt.Errorf("all tags: %w", err)
		}
		tags = append(tags, t)
	}
	return tags, rows.Err()
}
