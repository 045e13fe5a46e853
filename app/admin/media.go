package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"

	"site/app/auth"
	"site/app/content"
	"site/app/media"
	"site/app/web"
	"site/views"
)

// SectionMedia is the media part of the panel, for its menu.
const SectionMedia = "media"

// Bounds of the media pages.
const (
	// mediaPerPage is how many images one library page lists.
	mediaPerPage = 30
	// maxStatusKeys is how many images one status request asks about.
	maxStatusKeys = 100
	// maxMediaForm bounds the alt-text and delete forms.
	maxMediaForm = 64 << 10
)

// previewPrefix is where the panel serves variants from the private
// bucket, whatever shows them: /media/ serves only those of images a
// visible entry shows.
const previewPrefix = "/admin/media/preview/"

func (a *Admin) mediaRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET /admin/media", Handler: http.HandlerFunc(a.mediaLibrary)},
		{Pattern: "POST /admin/media", Handler: http.HandlerFunc(a.mediaUpload)},
		{Pattern: "GET /admin/media/status", Handler: http.HandlerFunc(a.mediaStatus)},
		{Pattern: "GET " + previewPrefix + "{key...}", Handler: http.HandlerFunc(a.mediaPreview)},
		{Pattern: "POST /admin/media/alt", Handler: http.HandlerFunc(a.mediaAlt)},
		{Pattern: "POST /admin/media/delete", Handler: http.HandlerFunc(a.mediaDelete)},
	}
}

// thumbURL is the panel's URL of an image's thumbnail.
func thumbURL(key string) string { return previewPrefix + media.VariantKey(key, "thumb") }

// mediaPage sends the media page with the upload script: the library
// (as m.Query and the request's page ask) under what m says happened.
func (a *Admin) mediaPage(w http.ResponseWriter, r *http.Request, code int, m views.MediaLibrary) {
	q := r.URL.Query()
	m.Query = strings.TrimSpace(clip(q.Get("q"), 200))
	m.Page, _ = strconv.Atoi(q.Get("page"))
	m.Page = max(m.Page, 1)
	m.MaxBytes = a.maxUploadBytes()
	images, total, err := a.Content.Library(r.Context(), m.Query, (m.Page-1)*mediaPerPage, mediaPerPage)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	m.Total = total
	m.Images = a.mediaItems(r, images)
	link := func(page int) string {
		v := url.Values{"page": {strconv.Itoa(page)}}
		if m.Query != "" {
			v.Set("q", m.Query)
		}
		return "/admin/media?" + v.Encode()
	}
	if m.Page > 1 {
		m.Prev = link(m.Page - 1)
	}
	if m.Page*mediaPerPage < total {
		m.Next = link(m.Page + 1)
	}
	p := a.Shell.PageMeta(r, "Media")
	p.Scripts = append(p.Scripts, "admin-upload.js")
	u, _ := auth.UserOf(r)
	a.Shell.SendHTML(w, r, code, views.AdminPage(p, views.AdminNav{Section: SectionMedia, Address: u.Address}, views.AdminMedia(m)))
}

// mediaItems adds each image's thumbnail URL (once variants exist) and
// the size of its original, asked of the store a few at a time.
func (a *Admin) mediaItems(r *http.Request, images []content.LibraryImage) []views.MediaItem {
	items := make([]views.MediaItem, len(images))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i, img := range images {
		items[i].LibraryImage = img
		if img.Variants > 0 {
			items[i].Thumb = thumbURL(img.Key)
		}
		if a.Objects == nil || img.OriginalKey == "" {
			continue
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			if st, err := a.Objects.StatObject(r.Context(), a.PrivateBucket, img.OriginalKey, minio.StatObjectOptions{}); err == nil {
				items[i].Bytes = st.Size
			}
		}()
	}
	wg.Wait()
	return items
}

func (a *Admin) mediaLibrary(w http.ResponseWriter, r *http.Request) {
	var m views.MediaLibrary
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("uploaded")); err == nil && n > 0 {
		m.Notice = fmt.Sprintf("Uploaded %d image(s); each shows its thumbnail once the worker has made its variants.", n)
	}
	if k := q.Get("deleted"); content.ValidKey(k) {
		m.Notice = "Deleted " + k + "."
	}
	if q.Get("saved") != "" {
		m.Notice = "Alt text saved."
	}
	a.mediaPage(w, r, http.StatusOK, m)
}

// imageStatus is the JSON the page's script polls until variants exist.
type imageStatus struct {
	Key string `json:"key"`
	// Missing is an image with no row (deleted, or never uploaded).
	Missing bool `json:"missing,omitempty"`
	// Ready is true once the worker recorded its variants; Thumb is then
	// the panel's URL of its thumbnail.
	Ready  bool   `json:"ready"`
	Thumb  string `json:"thumb,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	Alt    string `json:"alt,omitempty"`
}

// mediaStatus answers GET /admin/media/status?key=K[&key=K2…]: whether
// each image's variants exist yet.
func (a *Admin) mediaStatus(w http.ResponseWriter, r *http.Request) {
	keys := r.URL.Query()["key"]
	if len(keys) == 0 || len(keys) > maxStatusKeys {
		mediaJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("ask about 1 to %d keys", maxStatusKeys)})
		return
	}
	out := make([]imageStatus, 0, len(keys))
	for _, k := range keys {
		st := imageStatus{Key: k}
		img, err := a.Content.LibraryImage(r.Context(), k)
		switch {
		case errors.Is(err, content.ErrNoImage):
			st.Missing = true
		case err != nil:
			a.Logger.Error("media status", "key", k, "err", err)
			mediaJSON(w, http.StatusInternalServerError, map[string]string{"error": "status unavailable"})
			return
		default:
			st.Ready, st.Width, st.Height, st.Alt = img.Variants > 0, img.Width, img.Height, img.Alt
			if st.Ready {
				st.Thumb = thumbURL(k)
			}
		}
		out = append(out, st)
	}
	mediaJSON(w, http.StatusOK, map[string]any{"images": out})
}

// mediaPreview serves a variant (never an original, which keeps its
// metadata) from the private bucket, to the admin only.
func (a *Admin) mediaPreview(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !content.ValidKey(key) || !strings.HasPrefix(key, "variants/") || a.Objects == nil {
		a.Shell.NotFound(w, r)
		return
	}
	obj, err := a.Objects.GetObject(r.Context(), a.PrivateBucket, key, minio.GetObjectOptions{})
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	defer obj.Close()
	st, err := obj.Stat()
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			a.Shell.NotFound(w, r)
			return
		}
		a.serverError(w, r, err)
		return
	}
	ct := st.ContentType
	if !strings.HasPrefix(ct, "image/") {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("ETag", `"`+strings.Trim(st.ETag, `"`)+`"`)
	http.ServeContent(w, r, path.Base(key), st.LastModified, obj)
}

// mediaForm parses a small url-encoded form; false when it was answered
// (400 or 413).
func mediaForm(w http.ResponseWriter, r *http.Request) bool {
	return web.ParseForm(w, r, maxMediaForm, "")
}

// mediaAlt replaces one image's alt text.
func (a *Admin) mediaAlt(w http.ResponseWriter, r *http.Request) {
	if !mediaForm(w, r) {
		return
	}
	key, alt := r.PostFormValue("key"), strings.TrimSpace(r.PostFormValue("alt"))
	if len(alt) > 2000 {
		a.mediaPage(w, r, http.StatusBadRequest, views.MediaLibrary{Error: "The alt text is longer than 2000 bytes."})
		return
	}
	err := a.Content.SetImageAlt(r.Context(), key, alt)
	if errors.Is(err, content.ErrNoImage) {
		a.mediaPage(w, r, http.StatusNotFound, views.MediaLibrary{Error: "There is no image " + key + "."})
		return
	}
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	if err := a.Audit(r, "media.alt", key, alt); err != nil {
		a.Logger.Error("audit", "err", err)
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/admin/media?") || strings.ContainsAny(back, "\\\r\n") {
		back = "/admin/media?"
	}
	http.Redirect(w, r, back+"&saved=1", http.StatusSeeOther)
}

// mediaDelete removes an image no entry shows: its row and variants' rows,
// then its original and variants from the private bucket. An image in
// use is refused (409) with the entries that show it.
func (a *Admin) mediaDelete(w http.ResponseWriter, r *http.Request) {
	if !mediaForm(w, r) {
		return
	}
	key := r.PostFormValue("key")
	d, err := a.Content.DeleteImage(r.Context(), key)
	var inUse *content.ImageInUseError
	switch {
	case errors.As(err, &inUse):
		a.mediaPage(w, r, http.StatusConflict, views.MediaLibrary{InUse: &views.MediaInUse{Key: key, Uses: inUse.Uses}})
		return
	case errors.Is(err, content.ErrNoImage):
		a.mediaPage(w, r, http.StatusNotFound, views.MediaLibrary{Error: "There is no image " + key + "."})
		return
	case err != nil:
		a.serverError(w, r, err)
		return
	}
	// The row is gone first, so nothing links an object about to go; an
	// object that fails to go is left behind unreferenced, and said so.
	left := a.removeImageObjects(r, d)
	detail := fmt.Sprintf("original %s and %d variants removed", d.OriginalKey, len(d.VariantKeys))
	if left > 0 {
		detail = fmt.Sprintf("%d objects could not be removed from %s", left, a.PrivateBucket)
	}
	if err := a.Audit(r, "media.delete", key, detail); err != nil {
		a.Logger.Error("audit", "err", err)
	}
	http.Redirect(w, r, "/admin/media?deleted="+url.QueryEscape(key), http.StatusSeeOther)
}

// removeImageObjects removes an image's original, its recorded variants
// and whatever else is under its variants folder (the thumbnail, files
// of an earlier run); it returns how many removals failed.
func (a *Admin) removeImageObjects(r *http.Request, d content.DeletedImage) int {
	if a.Objects == nil {
		return 0
	}
	ctx := r.Context()
	keys := map[string]bool{}
	if content.ValidKey(d.OriginalKey) {
		keys[d.OriginalKey] = true
	}
	for _, k := range d.VariantKeys {
		if content.ValidKey(k) {
			keys[k] = true
		}
	}
	folder := path.Dir(media.VariantKey(d.Key, "thumb")) + "/"
	for o := range a.Objects.ListObjects(ctx, a.PrivateBucket, minio.ListObjectsOptions{Prefix: folder, Recursive: true}) {
		if o.Err != nil {
			a.Logger.Warn("list variants", "key", d.Key, "err", o.Err)
			break
		}
		keys[o.Key] = true
	}
	failed := 0
	for k := range keys {
		if err := a.Objects.RemoveObject(ctx, a.PrivateBucket, k, minio.RemoveObjectOptions{}); err != nil {
			a.Logger.Error("remove image object", "key", k, "err", err)
			failed++
		}
	}
	return failed
}

// mediaJSON sends v as JSON with code, never cached.
func mediaJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
