package importer

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"site/app/content"
)

// matcher finds the site's entry a thread of the old site was about.
type matcher struct {
	content *content.Store
}

// match returns the id and path of the entry thread th was written on, or
// a reason saying what was tried. In order: the path of the thread's link
// as a path of this site (/posts/SLUG, /projects/SLUG, /SLUG, or an old
// path a redirect moved); then as slugs, the old site's own name for the
// page (WordPress post_name, Disqus identifier) and the last segment of the
// link's path (without .html, .htm or .php), each tried as a post, a
// project and a page.
func (m *matcher) match(ctx context.Context, th Thread) (int64, string, string, error) {
	var tried []string
	p := linkPath(th.Link)
	if p != "" {
		if to, err := m.content.Redirect(ctx, p); err != nil {
			return 0, "", "", err
		} else if to != "" {
			p = to
		}
		if kind, slug, ok := sitePath(p); ok {
			id, err := m.get(ctx, kind, slug)
			if err != nil || id != 0 {
				return id, p, "", err
			}
		}
		tried = append(tried, "no entry at "+p)
	}
	var slugs []string
	for _, s := range []string{th.Slug, lastSegment(p)} {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && content.ValidSlug(s) && !slices.Contains(slugs, s) {
			slugs = append(slugs, s)
		}
	}
	for _, s := range slugs {
		for _, kind := range []content.Kind{content.KindPost, content.KindProject, content.KindPage} {
			id, err := m.get(ctx, kind, s)
			if err != nil || id != 0 {
				return id, (&content.Post{Kind: kind, Slug: s}).Path(), "", err
			}
		}
		tried = append(tried, "no post, project or page with slug "+s)
	}
	if len(tried) == 0 {
		return 0, "", "the thread has no link and no slug", nil
	}
	return 0, "", strings.Join(tried, "; "), nil
}

// get is the id of the entry of kind and slug, 0 when none.
func (m *matcher) get(ctx context.Context, kind content.Kind, slug string) (int64, error) {
	p, err := m.content.GetAny(ctx, kind, slug)
	if errors.Is(err, content.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("match %s %s: %w", kind, slug, err)
	}
	return p.ID, nil
}

// linkPath is the path of a thread's link without its trailing slash ("/"
// stays), or "" when it has none.
func linkPath(link string) string {
	if link == "" {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil || u.Path == "" {
		return ""
	}
	p := path.Clean("/" + u.Path)
	return p
}

// sitePath reads a path of this site's entries: /posts/SLUG,
// /projects/SLUG or /SLUG.
func sitePath(p string) (content.Kind, string, bool) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "posts" && content.ValidSlug(parts[1]):
		return content.KindPost, parts[1], true
	case len(parts) == 2 && parts[0] == "projects" && content.ValidSlug(parts[1]):
		return content.KindProject, parts[1], true
	case len(parts) == 1 && content.ValidSlug(parts[0]):
		return content.KindPage, parts[0], true
	}
	return "", "", false
}

// lastSegment is the last segment of a path without a page extension:
// "/2019/05/hello-world.html" → "hello-world".
func lastSegment(p string) string {
	s := path.Base(p)
	for _, ext := range []string{".html", ".htm", ".php"} {
		s = strings.TrimSuffix(s, ext)
	}
	if s == "/" || s == "." {
		return ""
	}
	return s
}
