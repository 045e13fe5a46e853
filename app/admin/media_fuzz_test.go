package admin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"site/app/admin"
	"site/app/content"
	"site/app/jobs"
	"site/internal/testkit"
)

// fuzzKey is the image the media forms are fuzzed against.
const fuzzKey = "posts/a/cat.jpg"

// send posts body to path as the admin whose browser is c, to the
// panel's handler in this process (no connection per input), and returns
// the status, Location and body.
func send(t *testing.T, p *panel, c *http.Client, path, ctype string, body []byte, header ...string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, p.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	p.Config.Handler.ServeHTTP(w, req)
	return w.Code, w.Header().Get("Location"), w.Body.String()
}

// FuzzMediaForms posts arbitrary keys, alt texts and return addresses to
// the media library's alt and delete forms (the handlers are where they
// are read), signed in as an admin on real stores: the answer is a
// redirect into the library, or 400, 404 or 409, never a server error; a
// saved alt text is the one typed, trimmed; a page holds only the
// library's elements and no inline handler, style attribute or script
// address (nothing typed is echoed as markup).
func FuzzMediaForms(f *testing.F) {
	f.Add(false, fuzzKey, "A gradient cat", "/admin/media?page=2&q=cat")
	f.Add(false, fuzzKey, strings.Repeat("x", 2001), "")
	f.Add(false, fuzzKey, "  spaced  ", "https://evil.example/")
	f.Add(false, fuzzKey, "x", "/admin/media?\r\nSet-Cookie: a=b")
	f.Add(false, fuzzKey, "x", "/admin/media?/../../\\evil.example")
	f.Add(false, "<script>alert(1)</script>", "x", "")
	f.Add(true, "../"+fuzzKey, "", "")
	f.Add(true, fuzzKey, "", "")
	p := newPanel(f)
	if _, err := p.auth.GrantAdmin(context.Background(), "owner@example.org"); err != nil {
		f.Fatal(err)
	}
	c := p.client(f, "owner@example.org")
	store := p.admin.Content
	if err := store.SaveImage(context.Background(), content.Image{Key: fuzzKey, Width: 640, Height: 480, Alt: "A cat"}); err != nil {
		f.Fatal(err)
	}
	known := libraryMarkup(f, c, p.URL)
	f.Fuzz(func(t *testing.T, remove bool, key, alt, back string) {
		ctx := context.Background()
		if ok, err := store.ImageExists(ctx, fuzzKey); err != nil || !ok {
			if err := store.SaveImage(ctx, content.Image{Key: fuzzKey, Width: 640, Height: 480, Alt: "A cat"}); err != nil {
				t.Fatal(err)
			}
		}
		path, form := "/admin/media/alt", url.Values{"key": {key}, "alt": {alt}, "back": {back}}
		if remove {
			path, form = "/admin/media/delete", url.Values{"key": {key}}
		}
		code, loc, body := send(t, p, c, path, "application/x-www-form-urlencoded", []byte(form.Encode()))
		switch code {
		case http.StatusSeeOther:
			u, err := url.Parse(loc)
			if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(loc, "/admin/media?") || strings.ContainsAny(loc, "\\\r\n") {
				t.Fatalf("POST %s %v: redirect to %q", path, form, loc)
			}
			if !remove {
				pics, err := store.Pictures(ctx, []string{key})
				if err != nil || pics[key] == nil || pics[key].Alt != strings.TrimSpace(alt) {
					t.Fatalf("POST %s %v: saved, but the image reads %+v (%v)", path, form, pics[key], err)
				}
			}
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
		default:
			t.Fatalf("POST %s %v: %d\n%s", path, form, code, body)
		}
		if tag, bad := markup.Check(body); bad != "" || (tag != "" && !known[tag]) {
			t.Fatalf("POST %s %v: the page holds %s%s:\n%s", path, form, bad, tag, body)
		}
	})
}

// minioStat are the options of a plain StatObject.
var minioStat = minio.StatObjectOptions{}

// uploadSeed is a file to upload.
type uploadSeed struct {
	name string
	data []byte
}

// packageDir is this package's directory. FuzzMediaUpload starts the
// object server, which moves the process's working directory to its root
// (embedded/objects: the POSIX backend resolves buckets by relative path);
// the fuzzing workers start there, so paths are taken from here.
func packageDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// keepFailing writes the input of a failing run of FuzzMediaUpload to
// testdata/fuzz/FuzzMediaUpload/ of this package, as go test would if the
// object server had not moved the working directory (go test writes it
// under the server's root, a temporary directory, and it is lost).
func keepFailing(t *testing.T, raw, wantJSON bool, alt, name string, data []byte) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		entry := fmt.Sprintf("go test fuzz v1\nbool(%v)\nbool(%v)\nstring(%q)\nstring(%q)\n[]byte(%q)\n", raw, wantJSON, alt, name, data)
		dir := filepath.Join(packageDir(), "testdata", "fuzz", "FuzzMediaUpload")
		sum := sha256.Sum256([]byte(entry))
		file := filepath.Join(dir, fmt.Sprintf("failing-%x", sum[:8]))
		if err := os.MkdirAll(dir, 0o755); err == nil {
			if err := os.WriteFile(file, []byte(entry), 0o644); err == nil {
				t.Logf("failing input kept in %s", file)
			}
		}
	})
}

// probeSeedFiles are real small images of the repository's test data.
func probeSeedFiles(tb testing.TB) []uploadSeed {
	tb.Helper()
	var out []uploadSeed
	for _, path := range []string{
		"../importer/testdata/hugo/content/posts/hello-world/cat.png", "../importer/testdata/hugo/static/images/logo.png",
		"../media/testdata/quadrants.webp",
	} {
		data, err := os.ReadFile(filepath.Join(packageDir(), path))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, uploadSeed{filepath.Base(path), data})
	}
	return out
}

// FuzzMediaUpload sends arbitrary files (name, bytes, alt text), or an
// arbitrary multipart body, to the upload handler (the one reader of the
// multipart form) of a panel with a real object server and JetStream,
// as the page's script does (JSON) or a plain form: the answer is a
// result per file or a refusal of the request with 400, 413, 415 or 422,
// never a server error; a file stored has a key the site made, an object
// in the private bucket and a row; a refused file leaves no row; a page
// holds only the library's elements and no inline handler, style
// attribute or script address.
func FuzzMediaUpload(f *testing.F) {
	for _, seed := range probeSeedFiles(f) {
		f.Add(false, true, "A test image", seed.name, seed.data)
	}
	f.Add(false, true, "", "notes.txt", []byte("plain text"))
	f.Add(false, false, "<b>alt</b>", "<img src=x onerror=alert(1)>.png", []byte("\x89PNG\r\n\x1a\nrest"))
	f.Add(false, true, "", "bomb.png", bombPNG(100000, 100000))
	f.Add(true, true, "", "", []byte("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--x--\r\n"))
	f.Add(true, false, "", "", []byte("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"))
	_, s3 := testkit.Objects(f)
	broker := testkit.NATS(f)
	if err := jobs.EnsureStreams(context.Background(), broker.JetStream); err != nil {
		f.Fatal(err)
	}
	p := newPanel(f, func(a *admin.Admin) {
		a.Objects, a.PrivateBucket, a.MaxUploadBytes = s3, "private", testUploadCap
		a.Publish = func(ctx context.Context, j jobs.Job) error { return jobs.Publish(ctx, broker.JetStream, j) }
	})
	if _, err := p.auth.GrantAdmin(context.Background(), "owner@example.org"); err != nil {
		f.Fatal(err)
	}
	c := p.client(f, "owner@example.org")
	store := p.admin.Content
	if err := store.SaveImage(context.Background(), content.Image{Key: fuzzKey, Width: 640, Height: 480, Alt: "A cat"}); err != nil {
		f.Fatal(err) // the library with an image, for libraryMarkup
	}
	known := libraryMarkup(f, c, p.URL)
	f.Fuzz(func(t *testing.T, raw, wantJSON bool, alt, name string, data []byte) {
		keepFailing(t, raw, wantJSON, alt, name, data)
		ctx := context.Background()
		_, before, err := store.Library(ctx, "", 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		ctype := "multipart/form-data; boundary=x"
		if raw {
			body = data
		} else {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			_ = mw.WriteField("alt", alt)
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, name))
			h.Set("Content-Type", "application/octet-stream")
			w, _ := mw.CreatePart(h)
			_, _ = w.Write(data)
			_ = mw.Close()
			body, ctype = b.Bytes(), mw.FormDataContentType()
		}
		var header []string
		if wantJSON {
			header = []string{"Accept", "application/json"}
		}
		code, _, page := send(t, p, c, "/admin/media", ctype, body, header...)
		switch code {
		case http.StatusOK, http.StatusSeeOther, http.StatusBadRequest, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("upload %q (%d bytes): %d\n%s", name, len(data), code, page)
		}
		_, after, err := store.Library(ctx, "", 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !wantJSON {
			if tag, bad := markup.Check(page); bad != "" || (tag != "" && !known[tag]) {
				t.Fatalf("upload %q: the page holds %s%s:\n%s", name, bad, tag, page)
			}
			if code != http.StatusSeeOther && code != http.StatusOK && after != before {
				t.Fatalf("upload %q refused with %d, but %d images were added", name, code, after-before)
			}
			return
		}
		var out struct {
			Files []struct {
				Key   string `json:"key"`
				Error string `json:"error"`
			} `json:"files"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(page), &out); err != nil {
			t.Fatalf("upload %q: %d, not JSON: %v\n%s", name, code, err, page)
		}
		stored := 0
		for _, res := range out.Files {
			if res.Error != "" {
				continue
			}
			stored++
			if !keyRE.MatchString(res.Key) {
				t.Fatalf("upload %q stored under %q", name, res.Key)
			}
			if ok, err := store.ImageExists(ctx, res.Key); err != nil || !ok {
				t.Fatalf("upload %q: no row for %s (%v)", name, res.Key, err)
			}
			if _, err := s3.StatObject(ctx, "private", "originals/"+res.Key, minioStat); err != nil {
				t.Fatalf("upload %q: no original for %s: %v", name, res.Key, err)
			}
		}
		if after-before != stored {
			t.Fatalf("upload %q: %d files stored, %d images added\n%s", name, stored, after-before, page)
		}
	})
}

// libraryMarkup reads the media library's pages as an admin's browser
// gets them (the library with the image the caller saved, an upload
// refused, an alt text too long, an image that is not there) and returns
// their elements: a page of the fuzzed forms may hold these and no other.
func libraryMarkup(tb testing.TB, c *http.Client, base string) map[string]bool {
	tb.Helper()
	resp, err := c.Get(base + "/admin/media")
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pages := []string{string(b)}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	w, _ := mw.CreateFormFile("file", "notes.txt")
	_, _ = w.Write([]byte("plain text"))
	_ = mw.Close()
	for _, req := range []struct{ path, ctype, body string }{
		{"/admin/media", mw.FormDataContentType(), mp.String()},
		{"/admin/media/alt", "application/x-www-form-urlencoded", url.Values{"key": {fuzzKey}, "alt": {strings.Repeat("x", 2001)}}.Encode()},
		{"/admin/media/alt", "application/x-www-form-urlencoded", "key=none&alt=x"},
		{"/admin/media/delete", "application/x-www-form-urlencoded", "key=none"},
	} {
		resp, err := c.Post(base+req.path, req.ctype, strings.NewReader(req.body))
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pages = append(pages, string(b))
	}
	for _, page := range pages {
		if _, bad := markup.Check(page); bad != "" {
			tb.Fatalf("the library's own page holds %s", bad)
		}
	}
	return markup.Seen()
}

// markup checks the pages the fuzzed inputs come back in.
var markup testkit.Markup
