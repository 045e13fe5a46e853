package web

import (
	"bytes"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"site/app/analytics"
	"site/views"
)

// pageFunc renders a page's component, or returns a status code to send.
type pageFunc func(r *http.Request) (templ.Component, int)

// page renders a component to a buffer, sends it, and on success publishes
// a page view without waiting for it.
func (s *Server) page(render pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, code := render(r)
		var buf bytes.Buffer
		if err := c.Render(r.Context(), &buf); err != nil {
			s.Logger.Error("render page", "path", r.URL.Path, "err", err)
			http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(code)
		_, _ = w.Write(buf.Bytes())
		if code == http.StatusOK {
			s.trackView(r)
		}
	})
}

// trackView enqueues a jobs.pageview; it never blocks the reader.
func (s *Server) trackView(r *http.Request) {
	if s.Jobs == nil {
		return
	}
	j, err := analytics.NewJob(analytics.PageView{
		Path: r.URL.Path, Referrer: r.Referer(), UserAgent: r.UserAgent(), At: time.Now().UTC(),
	})
	if err != nil {
		s.Logger.Error("page view job", "err", err)
		return
	}
	s.Jobs.Enqueue(j)
}

func (s *Server) pageMeta(r *http.Request, title string) views.Page {
	return views.Page{Title: title, SiteName: s.SiteName, CanonicalURL: s.BaseURL + r.URL.Path}
}

func (s *Server) home(r *http.Request) (templ.Component, int) {
	return views.Home(s.pageMeta(r, "")), http.StatusOK
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("Not found.\n"))
}
