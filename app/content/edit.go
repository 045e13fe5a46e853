package content

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrSlugTaken is returned when another entry of the same kind already has
// the slug an entry is given.
var ErrSlugTaken = errors.New("slug taken")

// Limits on what an entry holds; the admin's forms are bounded by them.
const (
	MaxTitle   = 300     // characters
	MaxSummary = 2000    // characters
	MaxBody    = 1 << 20 // bytes of Markdown
	MaxTags    = 50
)

// Problems lists what is wrong with an entry, in plain words, by field
// ("kind", "status", "title", "slug", "summary", "body", "tags",
// "published_at"); empty when it can be saved. Validate says the same in
// one error.
func (p *Post) Problems() map[string]string {
	out := map[string]string{}
	switch p.Kind {
	case KindPost, KindProject, KindPage:
	default:
		out["kind"] = "Choose post, project or page."
	}
	switch p.Status {
	case StatusDraft, StatusPublished:
	case StatusScheduled:
		if p.PublishedAt.IsZero() {
			out["published_at"] = "Give the time at which it should appear."
		}
	default:
		out["status"] = "Choose draft, scheduled or published."
	}
	switch {
	case strings.TrimSpace(p.Title) == "":
		out["title"] = "Give it a title."
	case utf8.RuneCountInString(p.Title) > MaxTitle:
		out["title"] = fmt.Sprintf("Keep the title under %d characters.", MaxTitle)
	}
	switch {
	case p.Slug == "":
		out["slug"] = "Give it a slug (the last part of its address)."
	case !ValidSlug(p.Slug):
		out["slug"] = "Use only lowercase letters, digits and single hyphens between them (at most 200)."
	}
	if utf8.RuneCountInString(p.Summary) > MaxSummary {
		out["summary"] = fmt.Sprintf("Keep the summary under %d characters.", MaxSummary)
	}
	if len(p.Body) > MaxBody {
		out["body"] = "The text is longer than 1 MiB."
	}
	if len(p.Tags) > MaxTags {
		out["tags"] = fmt.Sprintf("Use at most %d tags.", MaxTags)
	}
	for _, t := range p.Tags {
		if !ValidSlug(t.Slug) {
			out["tags"] = fmt.Sprintf("The tag %q has no letters or digits.", t.Name)
			break
		}
	}
	return out
}

// State is where the entry stands for readers at now: a draft, scheduled
// (not yet visible) or published.
func (p *Post) State(now time.Time) Status {
	switch {
	case p.Status == StatusDraft:
		return StatusDraft
	case p.PublishedAt.After(now):
		return StatusScheduled
	default:
		return StatusPublished
	}
}

// ParseTags reads tags written as a comma-separated list of names.
func ParseTags(s string) []Tag {
	var tags []Tag
	seen := map[string]bool{}
	for name := range strings.SplitSeq(s, ",") {
		name = strings.Join(strings.Fields(name), " ")
		if name == "" {
			continue
		}
		t := Tag{Slug: Slugify(name), Name: name}
		if seen[t.Slug] {
			continue
		}
		seen[t.Slug] = true
		tags = append(tags, t)
	}
	return tags
}

// GetByID returns the entry of id whatever its status, with its tags.
func (s *Store) GetByID(ctx context.Context, id int64) (*Post, error) {
	return s.getEntry(ctx, fmt.Sprint(id), s.DB.Read.QueryRowContext(ctx, `SELECT `+postCols+` FROM posts WHERE id = ?`, id))
}

// prepare checks p and fills the times a save derives, returning the
// plain text of its body for search.
func (s *Store) prepare(p *Post, now time.Time) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	if p.Status == StatusScheduled && p.PublishedAt.IsZero() {
		return "", errors.New("a scheduled entry needs a time")
	}
	if p.PublishedAt.IsZero() && p.Status != StatusDraft {
		p.PublishedAt = now
	}
	return s.Markdown.PlainText(p.Body)
}

// Create adds p as a new entry, with its tags; ErrSlugTaken when its kind
// and slug are another entry's. A redirect from its path is removed: the
// entry now answers there.
func (s *Store) Create(ctx context.Context, p *Post) error {
	now := s.Now().UTC().Truncate(time.Second)
	text, err := s.prepare(p, now)
	if err != nil {
		return err
	}
	tx, err := s.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create %s: %w", p.Slug, err)
	}
	defer tx.Rollback()
	if taken, err := slugTaken(ctx, tx, p.Kind, p.Slug, 0); err != nil {
		return fmt.Errorf("create %s: %w", p.Slug, err)
	} else if taken {
		return ErrSlugTaken
	}
	p.CreatedAt, p.UpdatedAt = now, now
	err = tx.QueryRowContext(ctx, `INSERT INTO posts (kind, slug, title, summary, body, body_text, cover_image, status,
		featured, published_at, updated_at, created_at, source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		p.Kind, p.Slug, p.Title, p.Summary, p.Body, text, p.CoverImage, p.Status, boolInt(p.Featured),
		secs(p.PublishedAt), secs(now), secs(now), p.Source).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("create %s: %w", p.Slug, err)
	}
	if _, err := setTags(ctx, tx, p.ID, p.Tags); err != nil {
		return fmt.Errorf("create %s: tags: %w", p.Slug, err)
	}
	if err := takePath(ctx, tx, p.Path()); err != nil {
		return fmt.Errorf("create %s: %w", p.Slug, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create %s: %w", p.Slug, err)
	}
	return nil
}

// Update writes p over the entry of p.ID, kind and slug included, and
// returns the entry as it was. When the path changes, redirects to the old
// path move to the new one, and, if readers could see the entry, the old
// path redirects to the new one for good. Nothing is written when nothing
// changed (Unchanged); otherwise UpdatedAt becomes now.
func (s *Store) Update(ctx context.Context, p *Post) (*Post, SaveResult, error) {
	now := s.Now().UTC().Truncate(time.Second)
	text, err := s.prepare(p, now)
	if err != nil {
		return nil, "", err
	}
	tx, err := s.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, "", fmt.Errorf("update %d: %w", p.ID, err)
	}
	defer tx.Rollback()
	old, err := scanPost(tx.QueryRowContext(ctx, `SELECT `+postCols+` FROM posts WHERE id = ?`, p.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("update %d: %w", p.ID, err)
	}
	if taken, err := slugTaken(ctx, tx, p.Kind, p.Slug, p.ID); err != nil {
		return nil, "", fmt.Errorf("update %d: %w", p.ID, err)
	} else if taken {
		return nil, "", ErrSlugTaken
	}
	p.CreatedAt, p.Source, p.UpdatedAt = old.CreatedAt, old.Source, old.UpdatedAt
	res, err := tx.ExecContext(ctx, `UPDATE posts SET kind = ?1, slug = ?2, title = ?3, summary = ?4, body = ?5,
		body_text = ?6, cover_image = ?7, status = ?8, featured = ?9, published_at = ?10, updated_at = ?11
		WHERE id = ?12 AND (kind IS NOT ?1 OR slug IS NOT ?2 OR title IS NOT ?3 OR summary IS NOT ?4 OR body IS NOT ?5
		OR body_text IS NOT ?6 OR cover_image IS NOT ?7 OR status IS NOT ?8 OR featured IS NOT ?9 OR published_at IS NOT ?10)`,
		p.Kind, p.Slug, p.Title, p.Summary, p.Body, text, p.CoverImage, p.Status, boolInt(p.Featured),
		secs(p.PublishedAt), secs(now), p.ID)
	if err != nil {
		return nil, "", fmt.Errorf("update %d: %w", p.ID, err)
	}
	result := Unchanged
	if n, _ := res.RowsAffected(); n > 0 {
		result = Updated
	}
	if err := loadTagsTx(ctx, tx, old); err != nil {
		return nil, "", fmt.Errorf("update %d: %w", p.ID, err)
	}
	tagsChanged, err := setTags(ctx, tx, p.ID, p.Tags)
	if err != nil {
		return nil, "", fmt.Errorf("update %d: tags: %w", p.ID, err)
	}
	if tagsChanged && result == Unchanged {
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET updated_at = ? WHERE id = ?`, secs(now), p.ID); err != nil {
			return nil, "", fmt.Errorf("update %d: %w", p.ID, err)
		}
		result = Updated
	}
	if result == Updated {
		p.UpdatedAt = now
	}
	if from, to := old.Path(), p.Path(); from != to {
		if err := moveRedirects(ctx, tx, from, to, old.Visible(now), now); err != nil {
			return nil, "", fmt.Errorf("update %d: %w", p.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, "", fmt.Errorf("update %d: %w", p.ID, err)
	}
	return old, result, nil
}

// DeleteByID removes the entry of id and the redirects that led to it,
// and returns it as it was.
func (s *Store) DeleteByID(ctx context.Context, id int64) (*Post, error) {
	tx, err := s.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("delete %d: %w", id, err)
	}
	defer tx.Rollback()
	old, err := scanPost(tx.QueryRowContext(ctx, `DELETE FROM posts WHERE id = ? RETURNING `+postCols, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("delete %d: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM redirects WHERE to_path = ?`, old.Path()); err != nil {
		return nil, fmt.Errorf("delete %d: redirects: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("delete %d: %w", id, err)
	}
	return old, nil
}

// slugTaken reports whether an entry other than id has kind and slug.
func slugTaken(ctx context.Context, tx *sql.Tx, kind Kind, slug string, id int64) (bool, error) {
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM posts WHERE kind = ? AND slug = ? AND id <> ?`, kind, slug, id).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// loadTagsTx fills p.Tags inside tx.
func loadTagsTx(ctx context.Context, tx *sql.Tx, p *Post) error {
	rows, err := tx.QueryContext(ctx, `SELECT t.slug, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
		WHERE pt.post_id = ? ORDER BY lower(t.name)`, p.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	p.Tags = nil
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.Slug, &t.Name); err != nil {
			return err
		}
		p.Tags = append(p.Tags, t)
	}
	return rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ImageExists reports whether an image of key is in the library.
func (s *Store) ImageExists(ctx context.Context, key string) (bool, error) {
	var n int
	err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM images WHERE key = ?`, key).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("image %s: %w", key, err)
	}
	return n > 0, nil
}
