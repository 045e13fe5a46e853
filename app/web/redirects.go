package web

import (
	"net/http"
	"net/url"
)

// movedTo answers a GET or HEAD of a path an entry has left with a
// permanent redirect to where it lives now (content.Store.Redirect), and
// reports whether it did. Only a clean path on this site is a target.
func (s *Server) movedTo(w http.ResponseWriter, r *http.Request) bool {
	if s.Content == nil || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	to, err := s.Content.Redirect(r.Context(), r.URL.Path)
	if err != nil {
		s.Logger.Error("redirect", "path", r.URL.Path, "err", err)
		return false
	}
	if to == "" || !cleanSitePath(to) {
		return false
	}
	http.Redirect(w, r, (&url.URL{Path: to, RawQuery: r.URL.RawQuery}).String(), http.StatusMovedPermanently)
	return true
}
