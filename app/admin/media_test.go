package admin_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/admin"
	"site/app/content"
	"site/app/jobs"
	"site/app/media"
	"site/internal/testkit"
)

// mediaPanel is the panel with a real object server (public and private
// buckets) and a real JetStream behind its uploads, and an admin's browser.
type mediaPanel struct {
	*panel
	s3    *minio.Client
	js    jetstream.JetStream
	owner *http.Client
}

const testUploadCap = 256 << 10

func newMediaPanel(t *testing.T) *mediaPanel {
	t.Helper()
	_, s3 := testkit.Objects(t)
	broker := testkit.NATS(t)
	if err := jobs.EnsureStreams(t.Context(), broker.JetStream); err != nil {
		t.Fatal(err)
	}
	js := broker.JetStream
	p := newPanel(t, func(a *admin.Admin) {
		a.Objects, a.PrivateBucket, a.MaxUploadBytes = s3, "private", testUploadCap
		a.Publish = func(ctx context.Context, j jobs.Job) error { return jobs.Publish(ctx, js, j) }
	})
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	return &mediaPanel{panel: p, s3: s3, js: js, owner: p.client(t, "owner@example.org")}
}

type upload struct {
	name string
	data []byte
}

// post sends a multipart form with alt and the files, as a browser does
// (JSON when asked, as the page's script does).
func (m *mediaPanel) post(t *testing.T, alt string, json bool, files ...upload) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if alt != "" {
		_ = mw.WriteField("alt", alt)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		// Raw, as a hostile client may send it: multipart.Writer's
		// CreateFormFile would escape nothing either.
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, f.name))
		h.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(h)
		w.Write(f.data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, m.URL+"/admin/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if json {
		req.Header.Set("Accept", "application/json")
	}
	return m.do(t, req)
}

func (m *mediaPanel) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := m.owner.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (m *mediaPanel) get(t *testing.T, path string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, m.URL+path, nil)
	return m.do(t, req)
}

func (m *mediaPanel) form(t *testing.T, path string, v url.Values) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, m.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return m.do(t, req)
}

// objects lists a bucket's keys.
func (m *mediaPanel) objects(t *testing.T, bucket string) []string {
	t.Helper()
	var keys []string
	for o := range m.s3.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a PNG whose header claims width×height pixels, with a few
// bytes of data after it: decoding it would ask for 40 GB.
func bombPNG(width, height uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], width)
	binary.BigEndian.PutUint32(ihdr[4:], height)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

var keyRE = regexp.MustCompile(`^uploads/\d{4}/\d{2}/[a-z0-9-]+-[0-9a-f]{8}\.(png|jpg|gif|webp)$`)

// TestUploadStoresOriginalPrivatelyAndQueuesJob: an image uploaded through
// the plain form lands in the private bucket under a key the site made,
// is recorded with its alt text, audited, and its jobs.image job is in
// the stream; the worker's variants then show as its thumbnail, served to
// the admin only.
func TestUploadStoresOriginalPrivatelyAndQueuesJob(t *testing.T) {
	m := newMediaPanel(t)
	img := pngBytes(t, 64, 48)
	resp, body := m.post(t, "A gradient", false, upload{"Holiday Photo (1).PNG", img})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/media?uploaded=1" {
		t.Fatalf("upload: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if pub := m.objects(t, "public"); len(pub) != 0 {
		t.Errorf("public bucket holds %v", pub)
	}
	priv := m.objects(t, "private")
	if len(priv) != 1 || !strings.HasPrefix(priv[0], "originals/") || !keyRE.MatchString(strings.TrimPrefix(priv[0], "originals/")) ||
		!strings.Contains(priv[0], "/holiday-photo-1-") {
		t.Fatalf("private bucket: %v", priv)
	}
	key := strings.TrimPrefix(priv[0], "originals/")
	obj, err := m.s3.GetObject(t.Context(), "private", priv[0], minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(obj)
	obj.Close()
	if !bytes.Equal(stored, img) {
		t.Errorf("stored original differs: %d bytes of %d", len(stored), len(img))
	}
	li, err := m.admin.Content.LibraryImage(t.Context(), key)
	if err != nil || li.OriginalKey != priv[0] || li.Alt != "A gradient" || li.Width != 64 || li.Height != 48 || li.Variants != 0 {
		t.Fatalf("image row: %+v %v", li, err)
	}

	// The job is in the stream, as the worker's consumer fetches it.
	cons, err := m.js.Consumer(t.Context(), jobs.StreamJobs, jobs.ConsumerWorker)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msg jetstream.Msg
	for msg = range batch.Messages() {
		break
	}
	if msg == nil {
		t.Fatal("no job in the stream")
	}
	var ij jobs.ImageJob
	if err := json.Unmarshal(msg.Data(), &ij); err != nil || msg.Subject() != jobs.SubjectImage ||
		ij != (jobs.ImageJob{Key: key, Bucket: "private", Original: priv[0], Alt: "A gradient"}) {
		t.Fatalf("job %s: %+v %v", msg.Subject(), ij, err)
	}

	// Pending until the worker's variants exist; then the thumbnail.
	statusPath := "/admin/media/status?key=" + url.QueryEscape(key)
	if _, body := m.get(t, statusPath); !strings.Contains(body, `"ready":false`) {
		t.Errorf("status before variants: %s", body)
	}
	if _, body := m.get(t, "/admin/media"); !strings.Contains(body, `data-pending-key="`+key+`"`) || !strings.Contains(body, "A gradient") ||
		!strings.Contains(body, "admin-upload") {
		t.Errorf("library does not show %s pending:\n%s", key, body)
	}
	proc := &media.Processor{S3: m.s3, Bucket: "private", DB: m.admin.Data.Write, Options: media.Options{Widths: []int{32}}}
	j, _ := jobs.NewImageJob(ij)
	if err := proc.Handle(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	msg.Ack()
	_, body = m.get(t, statusPath)
	var st struct {
		Images []struct {
			Key, Thumb string
			Ready      bool
		}
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Images) != 1 || !st.Images[0].Ready || st.Images[0].Thumb == "" {
		t.Fatalf("status after variants: %s", body)
	}
	resp, thumb := m.get(t, st.Images[0].Thumb)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || !bytes.HasPrefix([]byte(thumb), []byte{0xFF, 0xD8}) {
		t.Fatalf("thumbnail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := m.get(t, "/admin/media/preview/"+priv[0]); resp.StatusCode != 404 {
		t.Errorf("original through the preview: %d", resp.StatusCode)
	}
	if resp, _ := m.panel.client(t, "").Get(m.URL + st.Images[0].Thumb); resp.StatusCode != 303 {
		t.Errorf("anonymous preview: %d", resp.StatusCode)
	}
	if _, body := m.get(t, "/admin/media?q=gradient"); !strings.Contains(body, `src="`+st.Images[0].Thumb+`"`) {
		t.Errorf("library search lacks the thumbnail")
	}
	if _, body := m.get(t, "/admin/media?q=nothing-like-it"); strings.Contains(body, key) {
		t.Errorf("search for something else lists %s", key)
	}
	if _, body := m.get(t, "/admin/audit"); !strings.Contains(body, "media.upload") || !strings.Contains(body, key) {
		t.Errorf("audit log lacks the upload")
	}
}

// TestUploadRefusals: wrong type, over the size cap, a header over the
// pixel cap, a malformed form; nothing is stored for any of them.
func TestUploadRefusals(t *testing.T) {
	m := newMediaPanel(t)
	big := append(pngBytes(t, 8, 8), bytes.Repeat([]byte{0}, testUploadCap)...)
	for _, c := range []struct {
		name string
		file upload
		code int
		want string
	}{
		{"text", upload{"notes.png", []byte("just some text, named like an image")}, 415, "not a JPEG, PNG, WebP or GIF"},
		{"html", upload{"x.jpg", []byte("<!doctype html><script>alert(1)</script>")}, 415, "text/html"},
		{"svg", upload{"logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)}, 415, "not a JPEG"},
		{"avif", upload{"a.avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf")}, 415, "AVIF"},
		{"oversize", upload{"big.png", big}, 413, "larger than the limit"},
		{"pixel bomb", upload{"bomb.png", bombPNG(100000, 100000)}, 422, "100000×100000"},
		{"empty", upload{"empty.png", nil}, 400, "empty"},
	} {
		for _, asJSON := range []bool{false, true} {
			resp, body := m.post(t, "", asJSON, c.file)
			if resp.StatusCode != c.code || !strings.Contains(body, c.want) {
				t.Errorf("%s (json %v): %d, want %d with %q\n%.400s", c.name, asJSON, resp.StatusCode, c.code, c.want, body)
			}
		}
	}
	// Malformed multipart: a boundary that never comes, and no form at all.
	req, _ := http.NewRequest(http.MethodPost, m.URL+"/admin/media", strings.NewReader("--nope\r\nbroken"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
	if resp, _ := m.do(t, req); resp.StatusCode != 400 {
		t.Errorf("malformed multipart: %d", resp.StatusCode)
	}
	if resp, _ := m.form(t, "/admin/media", url.Values{"file": {"x"}}); resp.StatusCode != 400 {
		t.Errorf("url-encoded upload: %d", resp.StatusCode)
	}
	if resp, _ := m.post(t, "alt only", false); resp.StatusCode != 400 {
		t.Errorf("no file: %d", resp.StatusCode)
	}
	// A cross-site POST is refused by the shell before the handler.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "x.png")
	fw.Write(pngBytes(t, 4, 4))
	mw.Close()
	req, _ = http.NewRequest(http.MethodPost, m.URL+"/admin/media", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, _ := m.do(t, req); resp.StatusCode != 403 {
		t.Errorf("cross-site upload: %d", resp.StatusCode)
	}
	// More files than one request may carry.
	var many []upload
	for range 21 {
		many = append(many, upload{"s.png", pngBytes(t, 2, 2)})
	}
	resp, body := m.post(t, "", true, many...)
	var got struct{ Files []struct{ Key, Error string } }
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 413 || len(got.Files) != 21 ||
		got.Files[19].Key == "" || !strings.Contains(got.Files[20].Error, "At most 20 files") {
		t.Errorf("21 files: %d %.300s", resp.StatusCode, body)
	}
	for _, k := range m.objects(t, "private") { // the first 20 of those were taken, and said so
		if !strings.Contains(k, "/s-") {
			t.Errorf("refused upload stored %s", k)
		}
	}
	lib, _, _ := m.admin.Content.Library(t.Context(), "", 0, 100)
	for _, li := range lib {
		if !strings.Contains(li.Key, "/s-") {
			t.Errorf("refused upload recorded %s", li.Key)
		}
	}
}

// TestUploadNothingStoredWhenRefused: no refused file leaves an object or
// a row behind.
func TestUploadNothingStoredWhenRefused(t *testing.T) {
	m := newMediaPanel(t)
	for _, f := range []upload{{"a.png", []byte("text")}, {"b.png", bombPNG(100000, 100000)},
		{"c.png", append(pngBytes(t, 8, 8), bytes.Repeat([]byte{0}, testUploadCap)...)}} {
		m.post(t, "", false, f)
	}
	if keys := slices.Concat(m.objects(t, "private"), m.objects(t, "public")); len(keys) != 0 {
		t.Errorf("refused uploads stored %v", keys)
	}
	if lib, n, err := m.admin.Content.Library(t.Context(), "", 0, 10); err != nil || n != 0 {
		t.Errorf("refused uploads recorded %v %v", lib, err)
	}
}

// TestUploadKeysAreSafe: the key comes from the file name only as a slug,
// whatever the name holds; several files in one form each get their own.
func TestUploadKeysAreSafe(t *testing.T) {
	m := newMediaPanel(t)
	img := pngBytes(t, 4, 4)
	names := []string{"../../x.png", `..\..\windows\system32\evil.png`, "/etc/passwd", "%2e%2e%2fsecret.png", "....png", "ünïcode ☃.png", "x.png"}
	var files []upload
	for _, n := range names {
		files = append(files, upload{n, img})
	}
	resp, body := m.post(t, "", true, files...)
	var got struct {
		Files []struct{ Name, Key, Error string }
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 || len(got.Files) != len(names) {
		t.Fatalf("upload: %d %s %v", resp.StatusCode, body, err)
	}
	seen := map[string]bool{}
	for _, f := range got.Files {
		if f.Error != "" || !keyRE.MatchString(f.Key) || strings.Contains(f.Key, "..") || seen[f.Key] || !content.ValidKey(f.Key) {
			t.Errorf("%q → key %q (%s)", f.Name, f.Key, f.Error)
		}
		seen[f.Key] = true
	}
	if !strings.Contains(got.Files[0].Key, "/x-") || !strings.Contains(got.Files[1].Key, "/evil-") || !strings.Contains(got.Files[4].Key, "/image-") {
		t.Errorf("slugs: %v", got.Files)
	}
	for _, k := range m.objects(t, "private") {
		if !strings.HasPrefix(k, "originals/uploads/") {
			t.Errorf("object outside the uploads folder: %s", k)
		}
	}
}

// TestMediaAltAndDelete: the alt text is edited; an image an entry shows
// (a draft too) is not deleted, and the page names the entry; an unused
// one goes with its original and variants.
func TestMediaAltAndDelete(t *testing.T) {
	m := newMediaPanel(t)
	resp, body := m.post(t, "", true, upload{"used.png", pngBytes(t, 40, 30)}, upload{"cover.png", pngBytes(t, 40, 30)},
		upload{"unused.png", pngBytes(t, 40, 30)})
	var got struct{ Files []struct{ Key string } }
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 || len(got.Files) != 3 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	used, cover, unused := got.Files[0].Key, got.Files[1].Key, got.Files[2].Key
	proc := &media.Processor{S3: m.s3, Bucket: "private", DB: m.admin.Data.Write, Options: media.Options{Widths: []int{16, 32}}}
	for _, k := range []string{used, cover, unused} {
		j, _ := jobs.NewImageJob(jobs.ImageJob{Key: k, Bucket: "private", Original: "originals/" + k})
		if err := proc.Handle(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	cs := m.admin.Content
	for _, p := range []*content.Post{
		{Kind: content.KindPost, Slug: "trip", Title: "The trip", Status: content.StatusDraft,
			Body: "Look: ![a view](/media/" + used + " \"title\")\n"},
		{Kind: content.KindProject, Slug: "tool", Title: "A tool", Status: content.StatusPublished, PublishedAt: time.Now().Add(-time.Hour),
			CoverImage: cover, Body: "No images; but /media/" + unused + "x is another key."},
	} {
		if _, err := cs.Save(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}

	// Alt text.
	if resp, _ := m.form(t, "/admin/media/alt", url.Values{"key": {used}, "alt": {"A view from the hill"}, "back": {"/admin/media?page=1"}}); resp.StatusCode != 303 {
		t.Fatalf("alt: %d", resp.StatusCode)
	}
	if li, _ := cs.LibraryImage(t.Context(), used); li.Alt != "A view from the hill" {
		t.Errorf("alt = %q", li.Alt)
	}
	if resp, _ := m.form(t, "/admin/media/alt", url.Values{"key": {"uploads/none.png"}, "alt": {"x"}}); resp.StatusCode != 404 {
		t.Errorf("alt of no image: %d", resp.StatusCode)
	}
	_, page := m.get(t, "/admin/media")
	for _, want := range []string{"The trip", "A tool", `href="/admin/posts/`, "A view from the hill"} {
		if !strings.Contains(page, want) {
			t.Errorf("library lacks %q", want)
		}
	}

	// In use: refused with the entries, nothing removed.
	before := m.objects(t, "private")
	for key, entry := range map[string]string{used: "The trip", cover: "A tool"} {
		resp, body := m.form(t, "/admin/media/delete", url.Values{"key": {key}})
		if resp.StatusCode != 409 || !strings.Contains(body, entry) || !strings.Contains(body, "was not deleted") {
			t.Errorf("delete %s in use: %d\n%.300s", key, resp.StatusCode, body)
		}
	}
	if after := m.objects(t, "private"); !slices.Equal(before, after) {
		t.Errorf("a refused delete removed objects")
	}

	// Unused: row, original and variants gone.
	resp, _ = m.form(t, "/admin/media/delete", url.Values{"key": {unused}})
	if resp.StatusCode != 303 {
		t.Fatalf("delete unused: %d", resp.StatusCode)
	}
	if _, err := cs.LibraryImage(t.Context(), unused); err != content.ErrNoImage {
		t.Errorf("row after delete: %v", err)
	}
	var variantRows int
	m.admin.Data.Read.QueryRow(`SELECT count(*) FROM image_variants WHERE image_key = ?`, unused).Scan(&variantRows)
	stem := strings.TrimSuffix(unused, ".png")
	for _, k := range m.objects(t, "private") {
		if strings.Contains(k, stem) {
			t.Errorf("object left after delete: %s", k)
		}
	}
	if variantRows != 0 {
		t.Errorf("%d variant rows left", variantRows)
	}
	if n := len(m.objects(t, "private")); n != len(before)-4 { // original, 2 widths, thumb
		t.Errorf("%d objects left of %d", n, len(before))
	}
	if resp, _ := m.form(t, "/admin/media/delete", url.Values{"key": {unused}}); resp.StatusCode != 404 {
		t.Errorf("second delete: %d", resp.StatusCode)
	}
	if _, body := m.get(t, "/admin/audit"); !strings.Contains(body, "media.delete") || !strings.Contains(body, "media.alt") {
		t.Errorf("audit log lacks the delete or the alt edit")
	}
	// Paging: past the last page is an empty page, not an error.
	if resp, _ := m.get(t, "/admin/media?page=99"); resp.StatusCode != 200 {
		t.Errorf("page 99: %d", resp.StatusCode)
	}
}
