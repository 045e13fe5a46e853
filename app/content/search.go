package content

import (
	"context"
	"fmt"
	"html"
	"strings"
	"time"
	"unicode"
)

// Hit is one search result.
type Hit struct {
	Post *Post
	// TitleHTML and SnippetHTML are escaped HTML with the matched words in
	// <mark>.
	TitleHTML   string
	SnippetHTML string
}

// ftsQuery turns what a reader typed into an FTS5 query: each word quoted
// (so no operator or column filter gets through), all required, the last
// one matched as a prefix. Empty when there is no word.
func ftsQuery(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 12 {
		words = words[:12]
	}
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	if len(words) == 0 {
		return ""
	}
	return strings.Join(words, " ") + "*"
}

// Search finds visible posts, projects and pages matching q over title,
// summary and body, best first (title counts most), at most limit.
func (s *Store) Search(ctx context.Context, q string, limit int) ([]Hit, error) {
	fq := ftsQuery(q)
	if fq == "" {
		return nil, nil
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT p.id, p.kind, p.slug, p.title, p.summary, p.published_at,
		highlight(posts_fts, 0, char(1), char(2)),
		snippet(posts_fts, 2, char(1), char(2), '…', 24)
		FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid
		WHERE posts_fts MATCH ? AND p.status <> 'draft' AND p.published_at <= ?
		ORDER BY bm25(posts_fts, 10.0, 4.0, 1.0) LIMIT ?`, fq, s.Now().Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	var hits []Hit
	for rows.Next() {
		p := &Post{}
		var kind string
		var pub int64
		var title, snip string
		if err := rows.Scan(&p.ID, &kind, &p.Slug, &p.Title, &p.Summary, &pub, &title, &snip); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		p.Kind, p.PublishedAt = Kind(kind), time.Unix(pub, 0).UTC()
		if !strings.ContainsRune(snip, 1) && p.Summary != "" {
			snip = p.Summary
		}
		hits = append(hits, Hit{Post: p, TitleHTML: marked(title), SnippetHTML: marked(snip)})
	}
	return hits, rows.Err()
}

// marked escapes s and turns the \x01 … \x02 markers of FTS5 into <mark>.
func marked(s string) string {
	s = html.EscapeString(s)
	return strings.NewReplacer("\x01", "<mark>", "\x02", "</mark>").Replace(s)
}
