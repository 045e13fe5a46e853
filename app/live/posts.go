package live

import (
	"errors"
	"net/http"

	"site/app/content"
	"site/app/events"
	"site/app/web"
)

// Posts is the route group of the one stream a post page opens
// (assets/static/post.js): GET /live/posts/{slug} follows the post's
// comments (events.CommentSubject) and, while open, counts as one reader
// of the post, so the page can say how many read it now.
type Posts struct {
	// Hub serves the streams; nil answers 503.
	Hub *Hub
	// Content decides which posts exist: only a published, visible post
	// has a stream.
	Content *content.Store
}

// Routes is the stream's one route.
func (p *Posts) Routes() []web.Route {
	return []web.Route{{Pattern: "GET /live/posts/{slug}", Handler: http.HandlerFunc(p.serve)}}
}

func (p *Posts) serve(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	subject, err := events.CommentSubject(slug)
	if err != nil || p.Content == nil || !content.ValidSlug(slug) {
		http.Error(w, "There is no such post.", http.StatusNotFound)
		return
	}
	if _, err := p.Content.Get(r.Context(), content.KindPost, slug); errors.Is(err, content.ErrNotFound) {
		http.Error(w, "There is no such post.", http.StatusNotFound)
		return
	} else if err != nil {
		http.Error(w, "The post could not be read; try again shortly.", http.StatusServiceUnavailable)
		return
	}
	if p.Hub == nil {
		http.Error(w, "Live updates are off on this site.", http.StatusServiceUnavailable)
		return
	}
	p.Hub.Serve(w, r, Spec{Subjects: []string{subject}, Reader: slug})
}
