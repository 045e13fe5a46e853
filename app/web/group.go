package web

import (
	"cmp"
	"errors"
	"net/http"

	"github.com/a-h/templ"

	"site/assets"
	"site/views"
)

// Route is one pattern of the site's router and the handler behind it.
type Route struct {
	// Pattern is an http.ServeMux pattern, with its method where the
	// route takes one ("GET /posts/{slug}").
	Pattern string
	// Handler answers the requests the pattern matches.
	Handler http.Handler
}

// Group is a set of routes one feature mounts on the site. The public
// pages, feeds, /media/ and the page cache are one group (the Server's
// own); sign-in and the admin panel bring theirs through Server.Groups,
// as later features will. A group's routes get the shell's
// middleware (request logs and metrics, security headers, protection
// against cross-site requests) and its error pages; they must not
// collide with another group's patterns.
type Group interface {
	// Routes lists the group's routes; it is called once, by Open.
	Routes() []Route
}

// Routes is every route the site serves, in the order they are mounted:
// the shell's own (assets, health, security.txt), the public group, each
// of Groups, and the catch-all that answers 404 to a GET. Tests walk it so a new
// route cannot go untested.
func (s *Server) Routes() []Route {
	ops := &Ops{Checks: s.Checks, Public: true, Logger: s.Logger}
	routes := []Route{{"GET " + assets.Prefix, assets.Handler()}}
	routes = append(routes, ops.Routes()...)
	if s.SecurityTxt != "" {
		routes = append(routes, Route{"GET " + securityTxtPath, http.HandlerFunc(s.securityTxt)})
	}
	routes = append(routes, s.publicRoutes()...)
	for _, g := range s.Groups {
		routes = append(routes, g.Routes()...)
	}
	// GET (and so HEAD) alone: any other method gets the mux's 405 with
	// Allow, on every path, rather than a 404 page.
	return append(routes, Route{"GET /", http.HandlerFunc(s.NotFound)})
}

// signedIn reports whether the request carries a session (SignedIn).
func (s *Server) signedIn(r *http.Request) bool { return s.SignedIn != nil && s.SignedIn(r) }

// PageMeta is the layout's data for a group's page titled title: the
// site's name and language, kept out of search engines (NoIndex).
func (s *Server) PageMeta(r *http.Request, title string) views.Page {
	p := s.pageMeta(r, title, "")
	p.NoIndex, p.Feeds = true, nil
	return p
}

// SendHTML renders an HTML page of a group with its status, never stored
// by a cache: groups other than the public one serve pages for one person.
func (s *Server) SendHTML(w http.ResponseWriter, r *http.Request, code int, page templ.Component) {
	e, err := s.render(r.Context(), result{Component: page, Code: code, CacheControl: "private, no-store"}, r)
	if err != nil {
		s.ServerError(w, r, err)
		return
	}
	send(w, r, e)
}

// ParseForm reads a request's url-encoded form, at most max bytes, for a
// group's handler; false when it answered instead: 413 with tooLarge (or
// a plain sentence when empty) for a larger body, 400 for a malformed one.
func ParseForm(w http.ResponseWriter, r *http.Request, max int64, tooLarge string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, max)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, cmp.Or(tooLarge, "The form is too large."), http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "The form could not be read.", http.StatusBadRequest)
		}
		return false
	}
	return true
}
