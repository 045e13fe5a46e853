package content

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// LibraryImage is one image of the admin's media library: its row, how
// many variants the worker recorded, and the entries that show it.
type LibraryImage struct {
	Image
	// Variants counts the image's image_variants rows; 0 while the
	// worker has not made them (or could not).
	Variants int
	// Uses are the entries that show the image (Store.ImageUses).
	Uses []ImageUse
}

// ImageUse is an entry that shows an image, as its cover or in its body.
type ImageUse struct {
	ID     int64
	Kind   Kind
	Slug   string
	Title  string
	Status Status
}

// ImageInUseError is the refusal to delete an image that entries show.
type ImageInUseError struct {
	Key  string
	Uses []ImageUse
}

func (e *ImageInUseError) Error() string {
	return fmt.Sprintf("image %s is shown by %d entries", e.Key, len(e.Uses))
}

// ErrNoImage is an image key without an images row.
var ErrNoImage = errors.New("no such image")

// likePattern makes a LIKE pattern matching q anywhere, with '\' as the
// escape of LIKE's wildcards.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// Library lists images newest first, those whose key or alt text contains
// q when q is not empty, limit from offset, with the total that match and
// each image's uses.
func (s *Store) Library(ctx context.Context, q string, offset, limit int) ([]LibraryImage, int, error) {
	q = strings.TrimSpace(q)
	filter, args := "", []any{}
	if q != "" {
		filter = ` WHERE key LIKE ? ESCAPE '\' OR alt LIKE ? ESCAPE '\'`
		p := likePattern(q)
		args = append(args, p, p)
	}
	var total int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM images`+filter, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("media library: %w", err)
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT key, original_key, width, height, alt, placeholder, created_at,
		(SELECT count(*) FROM image_variants v WHERE v.image_key = images.key)
		FROM images`+filter+` ORDER BY created_at DESC, key LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("media library: %w", err)
	}
	var out []LibraryImage
	var keys []string
	for rows.Next() {
		var li LibraryImage
		var created int64
		if err := rows.Scan(&li.Key, &li.OriginalKey, &li.Width, &li.Height, &li.Alt, &li.Placeholder, &created, &li.Variants); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("media library: %w", err)
		}
		li.CreatedAt = unix(created)
		out = append(out, li)
		keys = append(keys, li.Key)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("media library: %w", err)
	}
	uses, err := s.ImageUses(ctx, keys)
	if err != nil {
		return nil, 0, err
	}
	for i := range out {
		out[i].Uses = uses[out[i].Key]
	}
	return out, total, nil
}

// LibraryImage returns one image of the library with its variant count and
// uses; ErrNoImage when there is no such row.
func (s *Store) LibraryImage(ctx context.Context, key string) (LibraryImage, error) {
	var li LibraryImage
	var created int64
	err := s.DB.Read.QueryRowContext(ctx, `SELECT key, original_key, width, height, alt, placeholder, created_at,
		(SELECT count(*) FROM image_variants v WHERE v.image_key = images.key)
		FROM images WHERE key = ?`, key).Scan(&li.Key, &li.OriginalKey, &li.Width, &li.Height, &li.Alt, &li.Placeholder, &created, &li.Variants)
	if errors.Is(err, sql.ErrNoRows) {
		return li, ErrNoImage
	}
	if err != nil {
		return li, fmt.Errorf("image %s: %w", key, err)
	}
	li.CreatedAt = unix(created)
	uses, err := s.ImageUses(ctx, []string{key})
	if err != nil {
		return li, err
	}
	li.Uses = uses[key]
	return li, nil
}

// usesQuerier runs the uses query on the reader pool or in a transaction.
type usesQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ImageUses maps each of keys to the entries, in any state, that show it:
// as their cover, or in their body as MediaPrefix+key (the link the
// Markdown renderer turns into a picture, as MediaVisible reads it).
func (s *Store) ImageUses(ctx context.Context, keys []string) (map[string][]ImageUse, error) {
	return imageUses(ctx, s.DB.Read, keys)
}

func imageUses(ctx context.Context, db usesQuerier, keys []string) (map[string][]ImageUse, error) {
	out := map[string][]ImageUse{}
	var args []any
	for _, k := range keys {
		if ValidKey(k) {
			args = append(args, k)
		}
	}
	if len(args) == 0 {
		return out, nil
	}
	values := "(?)" + strings.Repeat(",(?)", len(args)-1)
	rows, err := db.QueryContext(ctx, `WITH k(key) AS (VALUES `+values+`)
		SELECT k.key, p.id, p.kind, p.slug, p.title, p.status, p.cover_image = k.key,
			CASE WHEN p.cover_image = k.key THEN '' ELSE p.body END
		FROM k JOIN posts p ON p.cover_image = k.key OR instr(p.body, ?||k.key) > 0
		ORDER BY k.key, p.id`, append(args, MediaPrefix)...)
	if err != nil {
		return nil, fmt.Errorf("image uses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, kind, status, body string
		var u ImageUse
		var cover bool
		if err := rows.Scan(&key, &u.ID, &kind, &u.Slug, &u.Title, &status, &cover, &body); err != nil {
			return nil, fmt.Errorf("image uses: %w", err)
		}
		u.Kind, u.Status = Kind(kind), Status(status)
		if !cover && !bodyShows(body, key) {
			continue // a longer key that starts with this one
		}
		out[key] = append(out[key], u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("image uses: %w", err)
	}
	return out, nil
}

// bodyShows reports whether body links MediaPrefix+key exactly.
func bodyShows(body, key string) bool {
	for _, m := range mediaRef.FindAllStringSubmatch(body, -1) {
		if m[1] == key {
			return true
		}
	}
	return false
}

// SetImageAlt replaces an image's alt text (UpsertImage only fills an
// empty one); ErrNoImage when there is no such image.
func (s *Store) SetImageAlt(ctx context.Context, key, alt string) error {
	res, err := s.DB.Write.ExecContext(ctx, `UPDATE images SET alt = ? WHERE key = ? AND alt IS NOT ?`, alt, key, alt)
	if err != nil {
		return fmt.Errorf("set alt of %s: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := s.DB.Read.QueryRowContext(ctx, `SELECT 1 FROM images WHERE key = ?`, key).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return ErrNoImage
		} else if err != nil {
			return fmt.Errorf("set alt of %s: %w", key, err)
		}
	}
	return nil
}

// DeletedImage is what DeleteImage removed from data.db; the caller
// removes the objects it names.
type DeletedImage struct {
	Image
	// VariantKeys are the object keys of its recorded variants.
	VariantKeys []string
}

// DeleteImage removes an image's row and its variants' rows, in one
// transaction with the check that no entry shows it: an image in use is
// refused with an *ImageInUseError listing the entries; a missing one is
// ErrNoImage.
func (s *Store) DeleteImage(ctx context.Context, key string) (DeletedImage, error) {
	var d DeletedImage
	tx, err := s.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("delete image %s: %w", key, err)
	}
	defer tx.Rollback()
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT key, original_key, width, height, alt, placeholder, created_at FROM images WHERE key = ?`, key).
		Scan(&d.Key, &d.OriginalKey, &d.Width, &d.Height, &d.Alt, &d.Placeholder, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNoImage
	}
	if err != nil {
		return d, fmt.Errorf("delete image %s: %w", key, err)
	}
	d.CreatedAt = unix(created)
	uses, err := imageUses(ctx, tx, []string{key})
	if err != nil {
		return d, err
	}
	if len(uses[key]) > 0 {
		return d, &ImageInUseError{Key: key, Uses: uses[key]}
	}
	rows, err := tx.QueryContext(ctx, `SELECT object_key FROM image_variants WHERE image_key = ?`, key)
	if err != nil {
		return d, fmt.Errorf("delete image %s: %w", key, err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return d, fmt.Errorf("delete image %s: %w", key, err)
		}
		d.VariantKeys = append(d.VariantKeys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return d, fmt.Errorf("delete image %s: %w", key, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM image_variants WHERE image_key = ?`, key); err != nil {
		return d, fmt.Errorf("delete image %s: %w", key, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM images WHERE key = ?`, key); err != nil {
		return d, fmt.Errorf("delete image %s: %w", key, err)
	}
	if err := tx.Commit(); err != nil {
		return d, fmt.Errorf("delete image %s: %w", key, err)
	}
	return d, nil
}
