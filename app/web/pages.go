package web

import (
	"net/http"
	"time"

	"site/app/analytics"
)

// trackView adds the request's page view to the next jobs.pageview batch;
// it never blocks the reader.
func (s *Server) trackView(r *http.Request) {
	if s.Views == nil {
		return
	}
	s.Views.Add(analytics.FromRequest(r, time.Now().UTC()))
}
