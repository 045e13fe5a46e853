package web

import (
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"

	"site/app/content"
	"site/embedded/objects"
)

// media streams an image variant from the bucket named by MediaBucket
// (the private bucket in production, where the worker writes variants)
// under the site's origin, with a single Range, If-None-Match and
// If-Modified-Since handled by http.ServeContent over the object (which
// fetches only the ranges read). Only a key readers may see is fetched
// (content.Store.MediaVisible: a variant of an image that a published
// entry shows); any other key, an original among them, is a 404 that never
// reaches the object store. A large object gets more than WriteTimeout to
// leave (allowTransfer).
func (s *Server) media(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if s.Objects == nil || s.Content == nil || !content.ValidKey(key) {
		s.NotFound(w, r)
		return
	}
	if ok, err := s.Content.MediaVisible(r.Context(), key); err != nil {
		s.ServerError(w, r, err)
		return
	} else if !ok {
		s.NotFound(w, r)
		return
	}
	obj, err := s.Objects.GetObject(r.Context(), s.MediaBucket, key, minio.GetObjectOptions{})
	if err != nil {
		s.mediaError(w, r, err)
		return
	}
	defer obj.Close()
	st, err := obj.Stat()
	if err != nil {
		code := minio.ToErrorResponse(err).Code
		if code == "NoSuchKey" || code == "NotFound" || code == "NoSuchBucket" {
			s.NotFound(w, r)
			return
		}
		s.mediaError(w, r, err)
		return
	}
	// One range at most: each range of a multi-range request is a read
	// from the object store, so thousands of tiny ranges cost seconds of
	// work for a few bytes sent. A request for several gets the whole
	// object (RFC 9110 lets a server ignore Range), as nginx's max_ranges 1.
	if strings.Contains(r.Header.Get("Range"), ",") {
		r.Header.Del("Range")
	}
	s.allowTransfer(w, r, st.Size)
	h := w.Header()
	ct := st.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	if st.ETag != "" {
		h.Set("ETag", `"`+strings.Trim(st.ETag, `"`)+`"`)
	}
	h.Set("Cache-Control", "public, max-age=86400")
	// A file from the bucket (an SVG, say) must never run script as the site.
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox")
	http.ServeContent(w, r, "", st.LastModified, obj)
}

// mediaRetryAfter is the Retry-After of a 503 while the object store is
// unreachable: a reader's browser or a proxy tries again after it.
const mediaRetryAfter = "10"

// mediaError answers a failed read of the object store: 503 with
// Retry-After when the store cannot be reached or says it is failing (the
// image is not gone, only unavailable now: caches must not keep an error),
// 500 otherwise.
func (s *Server) mediaError(w http.ResponseWriter, r *http.Request, err error) {
	if !objects.Unavailable(err) {
		s.ServerError(w, r, err)
		return
	}
	s.Logger.Warn("media: object store unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", mediaRetryAfter)
	send(w, r, s.errorEntry(r.Context(), http.StatusServiceUnavailable))
}
