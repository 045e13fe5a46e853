package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/a-h/templ"

	"site/app/content"
	"site/views"
)

// result is what a page handler produced: a component to render or bytes
// to send, with its status and caching.
type result struct {
	// Component is an HTML page; Body and ContentType are used otherwise.
	Component   templ.Component
	Body        []byte
	ContentType string
	Code        int
	// CacheControl is sent as is; empty means "no-cache" (revalidate with
	// the ETag every time).
	CacheControl string
	// NoStore keeps the response out of the page cache (search results).
	NoStore bool
}

// pageFunc builds a page; an error becomes the 500 page.
type pageFunc func(r *http.Request) (result, error)

// keyFunc names the cached response of a request; "" means not cached.
type keyFunc func(r *http.Request) string

// byPath caches by path alone: query strings do not change the page.
func byPath(r *http.Request) string { return r.URL.Path }

// page serves a cached response when the cache has one and otherwise
// builds, caches and sends it. Reader-facing HTML pages that reach the
// reader (200, or 304 from the cache) are tracked as page views, cached or
// not. A signed-in request (SignedIn) gets a page built for it, neither
// cached nor counted.
func (s *Server) page(key keyFunc, build pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		personal := s.signedIn(r)
		k := ""
		if !personal {
			k = key(r)
		}
		var gen uint64
		if k != "" {
			var e *entry
			if e, gen = s.pageCache().get(r.Context(), k); e != nil {
				if send(w, r, e) && e.html {
					s.trackView(r)
				}
				return
			}
		}
		res, err := build(r)
		if errors.Is(err, content.ErrNotFound) {
			s.NotFound(w, r)
			return
		}
		if err != nil {
			s.ServerError(w, r, err)
			return
		}
		if personal {
			res.CacheControl = "private, no-store"
		}
		var once *http.Request
		if k == "" || res.NoStore {
			once = r // never cached: compressed only as this reader takes it
		}
		e, err := s.render(r.Context(), res, once)
		if err != nil {
			s.ServerError(w, r, err)
			return
		}
		if k != "" && !res.NoStore && e.code == http.StatusOK {
			s.pageCache().put(k, e, gen)
		}
		if send(w, r, e) && e.html && !personal {
			s.trackView(r)
		}
	})
}

// render turns a result into an entry ready to send: to every reader
// when once is nil (it may be cached), else to the request once alone.
func (s *Server) render(ctx context.Context, res result, once *http.Request) (*entry, error) {
	if res.Code == 0 {
		res.Code = http.StatusOK
	}
	cc := res.CacheControl
	if cc == "" {
		cc = "no-cache"
	}
	if res.Component == nil {
		return newEntryFor(once, res.Code, res.ContentType, cc, res.Body, false), nil
	}
	var buf bytes.Buffer
	buf.Grow(16 << 10)
	if err := res.Component.Render(ctx, &buf); err != nil {
		return nil, err
	}
	return newEntryFor(once, res.Code, "text/html; charset=utf-8", cc, buf.Bytes(), true), nil
}

// pageCache returns the cache, made on first use.
func (s *Server) pageCache() *pageCache {
	s.once.Do(func() {
		version := func(context.Context) (int64, error) { return 0, nil }
		next := func(context.Context) (time.Time, error) { return time.Time{}, nil }
		if s.Content != nil {
			version, next = s.Content.Version, s.Content.NextPublish
		}
		s.cache = newPageCache(s.CacheCheck, version, next)
		if s.Content != nil && s.Content.Now != nil {
			s.cache.now = s.Content.Now // one clock decides what is published
		}
	})
	return s.cache
}

// Invalidate empties the page cache at once, for writers in this process
// that cannot wait for the next version check.
func (s *Server) Invalidate() { s.pageCache().clear() }

// pageMeta is the layout's data for a page at the request's path.
func (s *Server) pageMeta(r *http.Request, title, section string) views.Page {
	return views.Page{
		Title: title, SiteName: s.SiteName, Description: s.Description, CanonicalURL: s.BaseURL + r.URL.Path,
		Lang: s.Language, Author: s.Author, Section: section, Type: "website",
		Feeds: []views.Feed{
			{Type: "application/rss+xml", Title: s.SiteName + " (RSS)", URL: "/feed.xml"},
			{Type: "application/atom+xml", Title: s.SiteName + " (Atom)", URL: "/atom.xml"},
			{Type: "application/feed+json", Title: s.SiteName + " (JSON Feed)", URL: "/feed.json"},
		},
	}
}

// errorEntry renders the 404 or 500 page.
func (s *Server) errorEntry(ctx context.Context, code int) *entry {
	p := views.Page{SiteName: s.SiteName, Lang: s.Language, NoIndex: true}
	msg := "There is no page at this address. It may have moved, or the link may be mistyped."
	p.Title = "Page not found"
	switch code {
	case http.StatusNotFound:
	case http.StatusTooManyRequests:
		p.Title = "Too many requests"
		msg = "Your address has made more of these requests than the site answers in a minute. Please wait a minute and try again."
	case http.StatusServiceUnavailable:
		p.Title = "Unavailable for a moment"
		msg = "This file cannot be fetched right now because the storage behind the site is not answering. Please try again in a few seconds."
	default:
		p.Title = "Something went wrong"
		msg = "The page could not be shown because of a problem on our side. It has been logged; please try again in a moment."
	}
	var buf bytes.Buffer
	if err := views.Error(p, code, msg).Render(ctx, &buf); err != nil {
		return newEntry(code, "text/plain; charset=utf-8", "no-store", []byte(p.Title+"\n"), false)
	}
	e := newEntry(code, "text/html; charset=utf-8", "no-store", buf.Bytes(), false)
	return e
}

// NotFound sends the site's 404 page (or, for a GET of a clean path with
// a trailing slash, a redirect to the path without it, or of a path an
// entry moved from, a redirect to where it is now).
func (s *Server) NotFound(w http.ResponseWriter, r *http.Request) {
	if s.movedTo(w, r) {
		return
	}
	// Links from other sites (and Hugo's own URLs) often end in a slash:
	// send them to the canonical URL without it, once.
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if target := strings.TrimSuffix(p, "/"); cleanSitePath(target) {
			location := (&url.URL{Path: target, RawQuery: r.URL.RawQuery}).String()
			http.Redirect(w, r, location, http.StatusMovedPermanently)
			return
		}
	}
	send(w, r, s.errorEntry(r.Context(), http.StatusNotFound))
}

// cleanSitePath reports whether p is a path on this site that is safe to
// send a browser to: absolute, already clean, with no space, control
// character or backslash. Browsers read "/\host" and "//host" as another
// host, and drop tabs and newlines ("/<tab>/host" becomes "//host"), so a
// redirect built from anything else could leave the site. Non-ASCII bytes
// (slugs in other scripts) are percent-encoded by the caller's url.URL.
func cleanSitePath(p string) bool {
	if len(p) < 2 || p[0] != '/' || p[1] == '/' || path.Clean(p) != p {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == '\\' || c == 0x7f {
			return false
		}
	}
	return true
}

// ServerError logs err and sends the site's 500 page.
func (s *Server) ServerError(w http.ResponseWriter, r *http.Request, err error) {
	s.Logger.Error("page", "path", r.URL.Path, "err", err)
	send(w, r, s.errorEntry(r.Context(), http.StatusInternalServerError))
}
