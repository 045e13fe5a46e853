// Package content holds the site's writing: posts, projects and pages, their
// tags and images, in data.db. It decides what readers may see (drafts never,
// scheduled posts from their time on), renders Markdown to HTML and searches
// with SQLite FTS5.
package content

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Kind is what sort of entry a Post is.
type Kind string

// The kinds of entry.
const (
	KindPost    Kind = "post"
	KindProject Kind = "project"
	KindPage    Kind = "page"
)

// Status is where an entry stands in publishing.
type Status string

// The statuses of an entry. A scheduled entry becomes visible at its
// PublishedAt without any further change.
const (
	StatusDraft     Status = "draft"
	StatusScheduled Status = "scheduled"
	StatusPublished Status = "published"
)

// ErrNotFound is returned for an entry, tag or image that does not exist
// or that readers may not see yet.
var ErrNotFound = errors.New("not found")

// Post is a post, a project or a page.
type Post struct {
	ID          int64
	Kind        Kind
	Slug        string
	Title       string
	Summary     string
	Body        string // Markdown
	CoverImage  string // an image key, or ""
	Status      Status
	Featured    bool
	PublishedAt time.Time
	UpdatedAt   time.Time
	CreatedAt   time.Time
	// Source is the file `site import` read the entry from, or "".
	Source string
	// Tags are the entry's tags, sorted by name.
	Tags []Tag
	// CommentCount is the number of approved comments and CommentsClosed
	// the admin's switch that refuses new ones (app/comments keeps both).
	CommentCount   int
	CommentsClosed bool
}

// Path is the URL path of the entry on the site.
func (p *Post) Path() string {
	switch p.Kind {
	case KindProject:
		return "/projects/" + p.Slug
	case KindPage:
		return "/" + p.Slug
	default:
		return "/posts/" + p.Slug
	}
}

// Visible reports whether readers may see the entry at now.
func (p *Post) Visible(now time.Time) bool {
	return p.Status != StatusDraft && !p.PublishedAt.After(now)
}

// Tag is a label shared by entries.
type Tag struct {
	Slug string
	Name string
	// Count is the number of visible posts with the tag, where a query
	// fills it.
	Count int
}

// Path is the URL path of the tag's page.
func (t Tag) Path() string { return "/tags/" + t.Slug }

// Validate checks an entry before it is saved.
func (p *Post) Validate() error {
	switch p.Kind {
	case KindPost, KindProject, KindPage:
	default:
		return fmt.Errorf("kind %q is not post, project or page", p.Kind)
	}
	switch p.Status {
	case StatusDraft, StatusScheduled, StatusPublished:
	default:
		return fmt.Errorf("status %q is not draft, scheduled or published", p.Status)
	}
	if strings.TrimSpace(p.Title) == "" {
		return errors.New("title is empty")
	}
	if !ValidSlug(p.Slug) {
		return fmt.Errorf("slug %q: use lowercase letters, digits and hyphens", p.Slug)
	}
	return nil
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// ValidSlug reports whether s is a slug: lowercase ASCII letters and digits
// in groups joined by single hyphens, at most 200 bytes.
func ValidSlug(s string) bool { return len(s) <= 200 && slugRE.MatchString(s) }

// Slugify makes a slug of a title or tag name: accents dropped, letters
// lowercased, everything else a single hyphen.
func Slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
		if b.Len() >= 120 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}
