package web

import (
	"net/http"
	"time"

	"site/app/analytics"
)

// trackView enqueues a jobs.pageview; it never blocks the reader.
func (s *Server) trackView(r *http.Request) {
	if s.Jobs == nil {
		return
	}
	j, err := analytics.NewJob(analytics.FromRequest(r, time.Now().UTC()))
	if err != nil {
		s.Logger.Error("page view job", "err", err)
		return
	}
	s.Jobs.Enqueue(j)
}
