package content

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"
)

// mediaRef finds the image keys a body links under MediaPrefix, as the
// importer and authors write them: ![alt](/media/KEY "title"). A mention
// in text or a plain link counts too; the author made those public.
var mediaRef = regexp.MustCompile(`/media/([A-Za-z0-9._/-]+)`)

// mediaSet is the cache behind MediaVisible: every object key readers may
// fetch, as of a content version and until the next scheduled publish.
type mediaSet struct {
	mu      sync.Mutex
	keys    map[string]bool
	version int64
	// until is the next scheduled publish when the set was built (zero:
	// none waited); from then on the set is rebuilt.
	until time.Time
}

// MediaVisible reports whether readers may fetch the object key: a
// variant (image_variants.object_key) of an image that an entry readers
// can see now shows, as its cover or in its body. Originals, thumbnails,
// and the variants of images shown only by drafts, by scheduled entries
// whose time has not come, or by nothing, are not. A scheduled entry's
// images become visible at its time with no write, as the entry does.
//
// The answer comes from a set of keys, rebuilt when the content version
// (one single-row read per call) has moved or the next scheduled publish
// has passed; so it is never stale, and the set is built once per change.
func (s *Store) MediaVisible(ctx context.Context, key string) (bool, error) {
	if !ValidKey(key) {
		return false, nil
	}
	v, err := s.Version(ctx)
	if err != nil {
		return false, err
	}
	now := s.Now()
	m := &s.media
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil || v != m.version || (!m.until.IsZero() && !now.Before(m.until)) {
		keys, until, err := s.visibleMedia(ctx, now)
		if err != nil {
			return false, err
		}
		m.keys, m.until, m.version = keys, until, v
	}
	return m.keys[key], nil
}

// visibleMedia lists the object keys of the variants of every image an
// entry visible at now shows, and the next scheduled publish after now.
func (s *Store) visibleMedia(ctx context.Context, now time.Time) (map[string]bool, time.Time, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT cover_image, body FROM posts
		WHERE `+visible+` AND (cover_image <> '' OR instr(body, ?) > 0)`, now.Unix(), MediaPrefix)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("visible media: %w", err)
	}
	shown := map[string]bool{}
	for rows.Next() {
		var cover, body string
		if err := rows.Scan(&cover, &body); err != nil {
			rows.Close()
			return nil, time.Time{}, fmt.Errorf("visible media: %w", err)
		}
		if cover != "" {
			shown[cover] = true
		}
		for _, m := range mediaRef.FindAllStringSubmatch(body, -1) {
			shown[m[1]] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("visible media: %w", err)
	}
	keys := map[string]bool{}
	rows, err = s.DB.Read.QueryContext(ctx, `SELECT image_key, object_key FROM image_variants`)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("visible media: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var image, object string
		if err := rows.Scan(&image, &object); err != nil {
			return nil, time.Time{}, fmt.Errorf("visible media: %w", err)
		}
		if shown[image] {
			keys[object] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("visible media: %w", err)
	}
	var next int64
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT coalesce(min(published_at), 0) FROM posts
		WHERE status <> 'draft' AND published_at > ?`, now.Unix()).Scan(&next); err != nil {
		return nil, time.Time{}, fmt.Errorf("visible media: %w", err)
	}
	return keys, unix(next), nil
}
