package content

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SizesBody is the sizes attribute of an image in an entry's body: the
// full width of a phone, the text column (42rem at 18px) beyond.
const SizesBody = "(max-width: 48rem) 100vw, 756px"

// Image is an uploaded or imported picture; see migration 0002 for the
// meaning of each column.
type Image struct {
	Key         string
	OriginalKey string
	Width       int
	Height      int
	Alt         string
	Placeholder string
	CreatedAt   time.Time
}

// Variant is one resized copy of an Image, stripped of metadata, in the
// private bucket; /media/ serves it once an entry readers can see shows
// the image (Store.MediaVisible).
type Variant struct {
	Width, Height int
	Format        string
	ObjectKey     string
	Bytes         int64
}

// Source is a <source> of a <picture>: one format's srcset.
type Source struct {
	Type   string
	Srcset string
}

// Picture is everything a page needs to draw an image responsively.
type Picture struct {
	Key    string
	Src    string
	Width  int
	Height int
	Alt    string
	// Srcset lists the widths of the fallback format. Src and Srcset are
	// empty until the worker has made variants: an original is never
	// linked (it keeps its metadata, EXIF GPS included, and lives in the
	// private bucket), so the picture waits as its alt text (Pending).
	Srcset string
	// Sources are other formats, most compact first (avif, webp).
	Sources []Source
}

// Pending reports whether the picture has no variants yet.
func (p *Picture) Pending() bool { return p.Src == "" }

// HTML draws the picture: an <img> with srcset, sizes, width, height and
// lazy loading, inside a <picture> when there are several formats. alt
// overrides the image's own text when not empty. A Pending picture is its
// alt text in a span with role img (no src: the original is not public),
// until the worker's variants replace it.
func (p *Picture) HTML(alt, sizes string) string {
	if alt == "" {
		alt = p.Alt
	}
	if p.Pending() {
		a := html.EscapeString(alt)
		return `<span class="image-pending" role="img" aria-label="` + a + `">` + a + `</span>`
	}
	var b strings.Builder
	if len(p.Sources) > 0 {
		b.WriteString("<picture>")
		for _, s := range p.Sources {
			fmt.Fprintf(&b, `<source type="%s" srcset="%s" sizes="%s">`, html.EscapeString(s.Type), html.EscapeString(s.Srcset), html.EscapeString(sizes))
		}
	}
	fmt.Fprintf(&b, `<img src="%s"`, html.EscapeString(p.Src))
	if p.Srcset != "" {
		fmt.Fprintf(&b, ` srcset="%s" sizes="%s"`, html.EscapeString(p.Srcset), html.EscapeString(sizes))
	}
	if p.Width > 0 && p.Height > 0 {
		fmt.Fprintf(&b, ` width="%d" height="%d"`, p.Width, p.Height)
	}
	fmt.Fprintf(&b, ` alt="%s" loading="lazy" decoding="async">`, html.EscapeString(alt))
	if len(p.Sources) > 0 {
		b.WriteString("</picture>")
	}
	return b.String()
}

// ValidKey reports whether key may name an object: relative, at most 512
// bytes of letters, digits, '.', '_', '-' and '/', with no empty, "." or
// ".." segment.
func ValidKey(key string) bool {
	if key == "" || len(key) > 512 {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '/') {
			return false
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// MediaURL returns the URL readers fetch a variant's object key at: under
// MediaBase when it is set, else under MediaPrefix on the site itself.
func (s *Store) MediaURL(key string) string {
	if s.MediaBase != "" {
		return strings.TrimRight(s.MediaBase, "/") + "/" + key
	}
	return MediaPrefix + key
}

// Execer runs a statement: *sql.DB, *sql.Tx and *sql.Conn are each one.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// SaveImage is UpsertImage on the writer connection, with CreatedAt
// defaulting to the Store's clock.
func (s *Store) SaveImage(ctx context.Context, img Image) error {
	if img.CreatedAt.IsZero() {
		img.CreatedAt = s.Now()
	}
	return UpsertImage(ctx, s.DB.Write, img)
}

// UpsertImage creates or updates the images row of img.Key, the one way
// every writer (the importer, the worker) records an image. On a row that
// exists: OriginalKey, Width, Height and Placeholder replace what is there
// when they are set and leave it when empty or zero, so a writer that
// knows less (the importer knows no size) never erases what another
// found; Alt only fills an empty alt, so an upsert never replaces text an
// author wrote; CreatedAt is kept. A call that changes nothing writes
// nothing, so page caches stay warm. The key must pass ValidKey and the
// original, when set, too.
func UpsertImage(ctx context.Context, db Execer, img Image) error {
	if !ValidKey(img.Key) {
		return fmt.Errorf("image key %q is not valid", img.Key)
	}
	if img.OriginalKey != "" && !ValidKey(img.OriginalKey) {
		return fmt.Errorf("image %s: original key %q is not valid", img.Key, img.OriginalKey)
	}
	if img.CreatedAt.IsZero() {
		img.CreatedAt = time.Now()
	}
	_, err := db.ExecContext(ctx, `INSERT INTO images (key, original_key, width, height, alt, placeholder, created_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
		ON CONFLICT (key) DO UPDATE SET
			original_key = CASE WHEN ?2 = '' THEN original_key ELSE ?2 END,
			width = CASE WHEN ?3 = 0 THEN width ELSE ?3 END,
			height = CASE WHEN ?4 = 0 THEN height ELSE ?4 END,
			alt = CASE WHEN alt = '' THEN ?5 ELSE alt END,
			placeholder = CASE WHEN ?6 = '' THEN placeholder ELSE ?6 END
		WHERE (?2 <> '' AND original_key IS NOT ?2) OR (?3 <> 0 AND width IS NOT ?3) OR (?4 <> 0 AND height IS NOT ?4)
			OR (alt = '' AND ?5 <> '') OR (?6 <> '' AND placeholder IS NOT ?6)`,
		img.Key, img.OriginalKey, img.Width, img.Height, img.Alt, img.Placeholder, img.CreatedAt.Unix())
	if err != nil {
		return fmt.Errorf("save image %s: %w", img.Key, err)
	}
	return nil
}

// formatRank orders formats for <source>: most compact first; the
// fallback <img> uses the last one present.
var formatRank = []string{"avif", "webp", "png", "jpeg"}

// Pictures returns the pictures of the given image keys; keys without an
// images row are left out, and an image without variants is Pending.
func (s *Store) Pictures(ctx context.Context, keys []string) (map[string]*Picture, error) {
	out := map[string]*Picture{}
	var args []any
	for _, k := range keys {
		if ValidKey(k) {
			args = append(args, k)
		}
	}
	if len(args) == 0 {
		return out, nil
	}
	in := "(?" + strings.Repeat(",?", len(args)-1) + ")"
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT key, width, height, alt FROM images WHERE key IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("pictures: %w", err)
	}
	for rows.Next() {
		p := &Picture{}
		if err := rows.Scan(&p.Key, &p.Width, &p.Height, &p.Alt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pictures: %w", err)
		}
		out[p.Key] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pictures: %w", err)
	}
	rows, err = s.DB.Read.QueryContext(ctx, `SELECT image_key, width, height, format, object_key FROM image_variants
		WHERE image_key IN `+in+` ORDER BY image_key, format, width`, args...)
	if err != nil {
		return nil, fmt.Errorf("variants: %w", err)
	}
	defer rows.Close()
	byFormat := map[string]map[string][]Variant{}
	for rows.Next() {
		var key string
		var v Variant
		if err := rows.Scan(&key, &v.Width, &v.Height, &v.Format, &v.ObjectKey); err != nil {
			return nil, fmt.Errorf("variants: %w", err)
		}
		if out[key] == nil || !ValidKey(v.ObjectKey) || v.Width <= 0 {
			continue
		}
		if byFormat[key] == nil {
			byFormat[key] = map[string][]Variant{}
		}
		byFormat[key][v.Format] = append(byFormat[key][v.Format], v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("variants: %w", err)
	}
	for key, formats := range byFormat {
		s.applyVariants(out[key], formats)
	}
	return out, nil
}

// applyVariants fills srcsets from the variants, grouped by format.
func (s *Store) applyVariants(p *Picture, formats map[string][]Variant) {
	names := make([]string, 0, len(formats))
	for f := range formats {
		names = append(names, f)
	}
	rank := func(f string) int {
		if i := slices.Index(formatRank, f); i >= 0 {
			return i
		}
		return -1
	}
	slices.SortFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	fallback := names[len(names)-1]
	for _, f := range names {
		vs := formats[f]
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = s.MediaURL(v.ObjectKey) + " " + strconv.Itoa(v.Width) + "w"
		}
		set := strings.Join(parts, ", ")
		if f == fallback {
			widest := vs[len(vs)-1]
			p.Src, p.Srcset = s.MediaURL(widest.ObjectKey), set
			if p.Width == 0 || p.Height == 0 {
				p.Width, p.Height = widest.Width, widest.Height
			}
			continue
		}
		p.Sources = append(p.Sources, Source{Type: "image/" + f, Srcset: set})
	}
}
