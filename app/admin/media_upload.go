package admin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/content"
	"site/app/jobs"
	"site/app/media"
	"site/views"
)

// Bounds of an upload request.
const (
	// maxUploadFiles is how many files one request may carry; the page's
	// script sends one per request, a plain form all that were chosen.
	maxUploadFiles = 20
	// uploadFormSlack bounds what a request carries besides the files
	// (part headers, the alt text).
	uploadFormSlack = 1 << 20
	// probeBytes is how much of a file the header probe reads: enough for
	// a JPEG's metadata segments before its frame header.
	probeBytes = 1 << 20
	// UploadMaxPixels refuses an upload whose header claims more pixels,
	// before anything is decoded (the default of images.max_pixels; the
	// worker applies the configured cap again).
	UploadMaxPixels = 50_000_000
	// uploadTime is how long an upload request may take to arrive and be
	// answered, past the shell's read and write timeouts.
	uploadTime = 15 * time.Minute
)

// maxUploadBytes is the size cap of one file.
func (a *Admin) maxUploadBytes() int64 {
	if a.MaxUploadBytes > 0 {
		return a.MaxUploadBytes
	}
	return 50 << 20
}

// refusal is a file or request the upload does not take, with the status
// that says why.
type refusal struct {
	code int
	msg  string
}

func (e *refusal) Error() string { return e.msg }

// errRequestTooLarge is the whole request over its bound.
var errRequestTooLarge = errors.New("request too large")

// mediaUpload takes a multipart form of files ("file") and an alt text
// ("alt", before the files): each file is checked (size, type from its
// bytes, pixel count from its header), stored in the private bucket under
// a key the site makes, recorded, and queued for the worker. A request
// that asks for JSON (the page's script) gets one result per file; a plain
// form is sent back to the library, or shown the refusals.
func (a *Admin) mediaUpload(w http.ResponseWriter, r *http.Request) {
	wantJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(a.now().Add(uploadTime)) // big files on slow links; unsupported writers keep the shell's timeout
	_ = rc.SetWriteDeadline(a.now().Add(uploadTime))
	limit := a.maxUploadBytes()
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadFiles*limit+uploadFormSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		a.uploadFailed(w, r, wantJSON, &refusal{http.StatusBadRequest, "The upload is not a multipart form."})
		return
	}
	var alt string
	var results []views.UploadResult
parts:
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			a.uploadFailed(w, r, wantJSON, requestRefusal(err, limit))
			return
		}
		switch part.FormName() {
		case "alt":
			b, err := io.ReadAll(io.LimitReader(part, 2001))
			if err != nil {
				a.uploadFailed(w, r, wantJSON, requestRefusal(err, limit))
				return
			}
			alt = strings.TrimSpace(clip(string(b), 2000))
		case "file":
			if part.FileName() == "" { // an empty file input
				_, _ = io.Copy(io.Discard, part)
				continue
			}
			if len(results) == maxUploadFiles { // say what was stored, and stop reading
				results = append(results, views.UploadResult{Name: clip(part.FileName(), 255), Code: http.StatusRequestEntityTooLarge,
					Error: fmt.Sprintf("At most %d files at once: this one and any after it were not read.", maxUploadFiles)})
				w.Header().Set("Connection", "close")
				break parts
			}
			res, err := a.storeUpload(r, part, alt, limit)
			if err != nil {
				if errors.Is(err, errRequestTooLarge) || !isRefusal(err) {
					a.uploadFailed(w, r, wantJSON, requestRefusal(err, limit))
					return
				}
			}
			results = append(results, res)
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				a.uploadFailed(w, r, wantJSON, requestRefusal(err, limit))
				return
			}
		}
		part.Close()
	}
	if len(results) == 0 {
		a.uploadFailed(w, r, wantJSON, &refusal{http.StatusBadRequest, "Choose at least one image to upload."})
		return
	}
	code, stored := http.StatusOK, 0
	for _, res := range results {
		if res.Error == "" {
			stored++
		} else if code == http.StatusOK {
			code = res.Code
		}
	}
	switch {
	case wantJSON:
		mediaJSON(w, code, map[string]any{"files": results})
	case code == http.StatusOK:
		http.Redirect(w, r, fmt.Sprintf("/admin/media?uploaded=%d", stored), http.StatusSeeOther)
	default:
		a.mediaPage(w, r, code, views.MediaLibrary{Results: results})
	}
}

func isRefusal(err error) bool {
	var rf *refusal
	return errors.As(err, &rf)
}

// requestRefusal says what went wrong reading the request itself.
func requestRefusal(err error, limit int64) *refusal {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, errRequestTooLarge) {
		return &refusal{http.StatusRequestEntityTooLarge, fmt.Sprintf("The upload is too large: at most %d files of %s each.",
			maxUploadFiles, views.HumanBytes(limit))}
	}
	var rf *refusal
	if errors.As(err, &rf) {
		return rf
	}
	return &refusal{http.StatusBadRequest, "The upload could not be read (a malformed multipart form)."}
}

// uploadFailed answers a request refused as a whole.
func (a *Admin) uploadFailed(w http.ResponseWriter, r *http.Request, wantJSON bool, rf *refusal) {
	if rf.code == http.StatusRequestEntityTooLarge || rf.code == http.StatusBadRequest {
		w.Header().Set("Connection", "close") // the rest of the body is not read
	}
	if wantJSON {
		mediaJSON(w, rf.code, map[string]any{"error": rf.msg})
		return
	}
	a.mediaPage(w, r, rf.code, views.MediaLibrary{Error: rf.msg})
}

// storeUpload checks one file and stores it. A file refused on its own
// merits is a result with its Error and Code and a *refusal error; other
// errors (the request broke, the store failed) end the request.
func (a *Admin) storeUpload(r *http.Request, part *multipart.Part, alt string, limit int64) (views.UploadResult, error) {
	ctx := r.Context()
	name := clip(part.FileName(), 255)
	res := views.UploadResult{Name: name}
	refuse := func(code int, format string, args ...any) (views.UploadResult, error) {
		res.Code, res.Error = code, fmt.Sprintf(format, args...)
		return res, &refusal{code, res.Error}
	}
	tmp, err := os.CreateTemp("", "site-upload-*")
	if err != nil {
		return res, fmt.Errorf("upload: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	n, err := io.Copy(tmp, io.LimitReader(part, limit+1))
	if err != nil {
		return res, err
	}
	if n > limit {
		if _, err := io.Copy(io.Discard, part); err != nil { // go on to the next file
			return res, err
		}
		return refuse(http.StatusRequestEntityTooLarge, "larger than the limit of %s per file.", views.HumanBytes(limit))
	}
	if n == 0 {
		return refuse(http.StatusBadRequest, "the file is empty.")
	}
	head := make([]byte, min(n, probeBytes))
	if _, err := tmp.ReadAt(head, 0); err != nil {
		return res, fmt.Errorf("upload: read back: %w", err)
	}
	format := sniffImage(head)
	switch format {
	case "":
		return refuse(http.StatusUnsupportedMediaType, "not a JPEG, PNG, WebP or GIF image (its content looks like %s).",
			strings.SplitN(http.DetectContentType(head), ";", 2)[0])
	case "avif":
		return refuse(http.StatusUnsupportedMediaType, "AVIF is not accepted yet: the site cannot make variants of it. Upload a JPEG, PNG or WebP.")
	}
	maxPixels := cmp.Or(a.MaxPixels, UploadMaxPixels)
	hdr, err := media.Probe(head, maxPixels)
	switch {
	case errors.Is(err, media.ErrTooManyPixels):
		return refuse(http.StatusUnprocessableEntity, "%d×%d pixels is more than the limit of %d million.",
			hdr.Width, hdr.Height, maxPixels/1_000_000)
	case err != nil:
		return refuse(http.StatusUnsupportedMediaType, "its %s header cannot be read: %v.", strings.ToUpper(format), err)
	case hdr.Format != format:
		return refuse(http.StatusUnsupportedMediaType, "its content is %s but its header reads as %s.", format, hdr.Format)
	}
	key, err := uploadKey(name, format, a.now())
	if err != nil {
		return res, err
	}
	original := "originals/" + key
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return res, fmt.Errorf("upload: %w", err)
	}
	if _, err := a.Objects.PutObject(ctx, a.PrivateBucket, original, tmp, n,
		minio.PutObjectOptions{ContentType: "image/" + format}); err != nil {
		return res, fmt.Errorf("upload: put %s: %w", original, err)
	}
	w, h := hdr.Upright()
	if err := a.Content.SaveImage(ctx, content.Image{Key: key, OriginalKey: original, Width: w, Height: h, Alt: alt}); err != nil {
		return res, fmt.Errorf("upload: %w", err)
	}
	res.Key, res.Code, res.Status = key, http.StatusOK, "/admin/media/status?key="+key
	res.Queued = a.queueImage(ctx, jobs.ImageJob{Key: key, Bucket: a.PrivateBucket, Original: original, Alt: alt})
	if err := a.Audit(r, "media.upload", key, fmt.Sprintf("%s: %s, %d×%d, %d bytes", name, format, w, h, n)); err != nil {
		a.Logger.Error("audit", "err", err)
	}
	return res, nil
}

// queueImage publishes the image's job; false when it could not now (the
// worker's image sweep queues every image without variants, so the
// upload stands).
func (a *Admin) queueImage(ctx context.Context, ij jobs.ImageJob) bool {
	if a.Publish == nil {
		return false
	}
	j, err := jobs.NewImageJob(ij)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = a.Publish(pctx, j)
		cancel()
	}
	if err != nil {
		a.Logger.Warn("image job not published; the worker's sweep will queue it", "key", ij.Key, "err", err)
		return false
	}
	return true
}

// sniffImage names an image format from a file's first bytes: "jpeg",
// "png", "gif", "webp", "avif", or "" for anything else.
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && (string(b[8:12]) == "avif" || string(b[8:12]) == "avis"):
		return "avif"
	}
	return ""
}

// extensions are the key's extension per format.
var extensions = map[string]string{"jpeg": ".jpg", "png": ".png", "gif": ".gif", "webp": ".webp"}

// uploadKey makes an image key from an uploaded file's name, never taking
// it raw: "uploads/YYYY/MM/<slug>-<8 hex>.<ext>", where the slug keeps
// the ASCII letters and digits of the name's last element (lower case, runs of anything else as one '-', at most 60 bytes), the
// suffix is random and the extension is the format's.
func uploadKey(name, format string, now time.Time) (string, error) {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("upload key: %w", err)
	}
	key := fmt.Sprintf("uploads/%s/%s-%s%s", now.UTC().Format("2006/01"), slugify(name), hex.EncodeToString(suffix[:]), extensions[format])
	if !content.ValidKey(key) {
		return "", fmt.Errorf("upload key %q is not valid", key)
	}
	return key, nil
}

// slugify turns a file name into a key-safe slug; "image" when nothing is
// left of it.
func slugify(name string) string {
	name = strings.ReplaceAll(name, `\`, "/") // a Windows path
	name = path.Base(name)
	name = strings.TrimSuffix(name, path.Ext(name))
	var b strings.Builder
	dash := false
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
		if b.Len() >= 60 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "image"
	}
	return s
}
