package web_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/content"
	"site/app/importer"
	"site/app/jobs"
	"site/app/media"
	"site/app/web"
	"site/embedded/objects"
	"site/internal/testkit"
)

// mustBuckets starts the embedded object server with the public bucket
// (readable anonymously, as in production) and the private one; it returns
// a client and the endpoint anonymous readers use.
func mustBuckets(tb testing.TB) (*minio.Client, string) {
	tb.Helper()
	srv, c := testkit.Objects(tb)
	return c, srv.Endpoint()
}

// TestMedia streams visible variants from the private bucket under
// /media/ with Range and revalidation, and refuses keys that are not
// plain object names or not shown by a visible entry.
func TestMedia(t *testing.T) {
	c, _ := mustBuckets(t)
	body := strings.Repeat("0123456789", 1000)
	// The seeded project "tool" shows projects/tool/cover.png, whose
	// variants are projects/tool/cover-480.webp and -960.webp.
	for _, o := range []struct{ bucket, key string }{{"private", "projects/tool/cover-960.webp"}, {"private", "secret.txt"},
		{"private", "projects/tool/cover.png"}} {
		if _, err := c.PutObject(context.Background(), o.bucket, o.key, strings.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
			t.Fatal(err)
		}
	}
	_, ts := MustSite(t, func(s *web.Server) { s.Objects, s.MediaBucket = c, "private" })

	const path = "/media/projects/tool/cover-960.webp"
	resp, got := fetch(t, ts, path)
	if resp.StatusCode != 200 || got != body || resp.Header.Get("Accept-Ranges") != "bytes" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") || resp.Header.Get("Cache-Control") != "public, max-age=86400" {
		t.Fatalf("GET media: %d, %d bytes, headers %v", resp.StatusCode, len(got), resp.Header)
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := fetch(t, ts, path, "If-None-Match", etag); resp.StatusCode != 304 {
		t.Errorf("revalidation = %d", resp.StatusCode)
	}
	resp, got = fetch(t, ts, path, "Range", "bytes=9990-")
	if resp.StatusCode != 206 || got != "0123456789" || resp.Header.Get("Content-Range") != "bytes 9990-9999/10000" {
		t.Errorf("Range: %d %q %s", resp.StatusCode, got, resp.Header.Get("Content-Range"))
	}
	// Many ranges get the whole object, one read (each range would be a
	// read from the object store; 2,000 of them cost seconds of CPU).
	ranges := make([]string, 2000)
	for i := range ranges {
		ranges[i] = fmt.Sprintf("%d-%d", i*5, i*5)
	}
	resp, got = fetch(t, ts, path, "Range", "bytes="+strings.Join(ranges, ","))
	if resp.StatusCode != 200 || got != body {
		t.Errorf("2,000 ranges: %d, %d bytes (%s)", resp.StatusCode, len(got), resp.Header.Get("Content-Type"))
	}
	for _, path := range []string{"/media/missing.bin", "/media/secret.txt", "/media/projects/tool/cover.png",
		"/media/projects/tool/cover-480.webp", // visible but not in the bucket
		"/media/../private/secret.txt", "/media/%2e%2e/secret.txt", "/media/a//b", "/media/a%20b"} {
		if resp, got := fetch(t, ts, path); (resp.StatusCode != 404 && resp.StatusCode != 307) || strings.Contains(got, "0123456789") {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
}

// gpsJPEG is a w×h JPEG with an EXIF APP1 segment holding a GPS position
// (48° 51' 24" N), as a phone writes it.
func gpsJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	var tiff bytes.Buffer
	be := func(v ...any) {
		for _, x := range v {
			_ = binary.Write(&tiff, binary.BigEndian, x)
		}
	}
	tiff.WriteString("MM\x00\x2a")
	be(uint32(8))
	be(uint16(1), uint16(0x8825), uint16(4), uint32(1), uint32(26), uint32(0)) // IFD0: GPSInfo (LONG), the GPS IFD at 26
	be(uint16(2))                                                              // GPS IFD: two entries
	be(uint16(0x0001), uint16(2), uint32(2), []byte("N\x00\x00\x00"))          // GPSLatitudeRef "N"
	be(uint16(0x0002), uint16(5), uint32(3), uint32(56), uint32(0))            // GPSLatitude: 3 RATIONAL at 56
	be([]uint32{48, 1, 51, 1, 2400, 100})
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg.Bytes()[2:]...)
}

// hasEXIF reports whether a JPEG carries an APP1 segment (EXIF, XMP) among
// the segments before its image data.
func hasEXIF(data []byte) bool {
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		marker := data[i+1]
		if marker == 0xE1 {
			return true
		}
		if marker == 0xDA { // start of scan: the image data follows
			return false
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return false
}

// TestMediaOriginalsAndDrafts: an imported JPEG carrying EXIF GPS is not
// readable anonymously, neither from the public bucket nor from /media/
// (by its key or its original's), and its page links no original while it
// waits for variants; its variants are readable from /media/ and carry no
// EXIF. A draft's image is not readable anonymously (neither way) until
// the draft is published, then it is; a scheduled post's image comes out
// at its time, with no write.
func TestMediaOriginalsAndDrafts(t *testing.T) {
	ctx := context.Background()
	c, endpoint := mustBuckets(t)
	var now atomic.Pointer[time.Time]
	now.Store(&testNow)
	s, ts := MustSite(t, func(s *web.Server) {
		s.Objects, s.MediaBucket = c, "private"
		s.Content.Now = func() time.Time { return *now.Load() }
	})
	cs := s.Content

	dir := t.TempDir()
	photo := gpsJPEG(t, 400, 300)
	files := map[string]string{
		"posts/trip/index.md":  "---\ntitle: Trip\ndate: 2024-05-20\n---\nWe went.\n\n![The view](photo.jpg)\n",
		"posts/trip/photo.jpg": string(photo),
		"posts/plans/index.md": "---\ntitle: Plans\ndate: 2024-05-21\ndraft: true\n---\nNot yet.\n\n![Home](home.jpg)\n",
		"posts/plans/home.jpg": string(photo),
		"posts/later/index.md": "---\ntitle: Later\ndate: 2024-06-02\n---\nSoon.\n\n![Soon](soon.jpg)\n",
		"posts/later/soon.jpg": string(photo),
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	im := &importer.Importer{Content: cs, Objects: importer.MinioObjects{Client: c}, PrivateBucket: "private",
		Now: cs.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := im.Import(ctx, dir); err != nil {
		t.Fatal(err)
	}
	const trip, plans, later = "posts/trip/photo.jpg", "posts/plans/home.jpg", "posts/later/soon.jpg"
	if b, ok := readObject(t, c, "private", "originals/"+trip); !ok || !hasEXIF(b) {
		t.Fatal("the original in the private bucket lost its EXIF: the fixture proves nothing")
	}
	anonymous := func(key string) int {
		t.Helper()
		resp, err := http.Get(endpoint + "/public/" + key)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	media404 := func(keys ...string) {
		t.Helper()
		for _, key := range keys {
			if code := anonymous(key); code == 200 {
				t.Errorf("public bucket serves %s anonymously", key)
			}
			if resp, _ := fetch(t, ts, "/media/"+key); resp.StatusCode != 404 {
				t.Errorf("GET /media/%s = %d, want 404", key, resp.StatusCode)
			}
		}
	}
	media404(trip, "originals/"+trip)
	// The page waits for variants: alt text, no link to the original.
	if resp, body := fetch(t, ts, "/posts/trip"); resp.StatusCode != 200 || strings.Contains(body, trip) ||
		!strings.Contains(body, `role="img" aria-label="The view"`) {
		t.Errorf("the post before variants links its original or lacks the alt text: %d\n%s", resp.StatusCode, body)
	}

	// The worker makes the variants, as the image sweep has it do.
	proc := &media.Processor{S3: c, Bucket: "private", DB: cs.DB.Write, Options: media.Options{Widths: []int{160, 320}}}
	for _, key := range []string{trip, plans, later} {
		j, err := jobs.NewImageJob(jobs.ImageJob{Key: key, Bucket: "private", Original: "originals/" + key})
		if err != nil {
			t.Fatal(err)
		}
		if err := proc.Handle(ctx, j); err != nil {
			t.Fatalf("image %s: %v", key, err)
		}
	}
	variant := func(key string) string { return media.VariantKey(key, "320") }
	resp, body := fetch(t, ts, "/media/"+variant(trip))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET /media/%s = %d %s", variant(trip), resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if hasEXIF([]byte(body)) {
		t.Error("the variant readers get carries EXIF")
	}
	if _, err := jpeg.Decode(strings.NewReader(body)); err != nil {
		t.Errorf("the variant is not a JPEG: %v", err)
	}
	media404(trip, "originals/"+trip, variant(plans), variant(later))
	if code := anonymous(variant(trip)); code == 200 {
		t.Error("the public bucket serves a variant: only /media/ decides who sees what")
	}
	if resp, body := fetch(t, ts, "/posts/trip"); resp.StatusCode != 200 || !strings.Contains(body, "/media/"+variant(trip)) {
		t.Errorf("the post does not show its variants: %d\n%s", resp.StatusCode, body)
	}

	// The draft is published: its image comes out.
	p, err := cs.GetAny(ctx, content.KindPost, "plans")
	if err != nil {
		t.Fatal(err)
	}
	p.Status = content.StatusPublished
	if _, err := cs.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	if resp, body := fetch(t, ts, "/media/"+variant(plans)); resp.StatusCode != 200 || hasEXIF([]byte(body)) {
		t.Errorf("GET /media/%s after publishing = %d (EXIF %v)", variant(plans), resp.StatusCode, hasEXIF([]byte(body)))
	}
	// The scheduled post's time comes, with no write.
	media404(variant(later))
	at := time.Date(2024, 6, 2, 0, 0, 1, 0, time.UTC)
	now.Store(&at)
	if resp, _ := fetch(t, ts, "/media/"+variant(later)); resp.StatusCode != 200 {
		t.Errorf("GET /media/%s at its post's time = %d", variant(later), resp.StatusCode)
	}
	media404(trip, "originals/"+trip, "originals/"+plans)
}

func readObject(tb testing.TB, c *minio.Client, bucket, key string) ([]byte, bool) {
	tb.Helper()
	obj, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	return b, err == nil
}

// TestMediaObjectStoreDown: with the object store gone, a visible image
// answers 503 with Retry-After (not a 404 a cache would keep, nor a 500),
// and pages already cached are still served.
func TestMediaObjectStoreDown(t *testing.T) {
	srv, c := testkit.Objects(t)
	body := "variant bytes"
	if _, err := c.PutObject(context.Background(), "private", "projects/tool/cover-960.webp", strings.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// As the web role's: one try, so the reader is not kept waiting.
	reader, err := objects.NewClient(srv.Endpoint(), srv.AccessKey, srv.SecretKey, srv.Region, objects.OneTry)
	if err != nil {
		t.Fatal(err)
	}
	_, ts := MustSite(t, func(s *web.Server) { s.Objects, s.MediaBucket = reader, "private" })
	const path = "/media/projects/tool/cover-960.webp"
	if resp, got := fetch(t, ts, path); resp.StatusCode != 200 || got != body {
		t.Fatalf("GET %s with the store up = %d %q", path, resp.StatusCode, got)
	}
	if resp, _ := fetch(t, ts, "/"); resp.StatusCode != 200 {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, got := fetch(t, ts, path)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(got, "try again") {
		t.Errorf("GET %s with the store down = %d, Retry-After %q, Cache-Control %q:\n%s", path, resp.StatusCode,
			resp.Header.Get("Retry-After"), resp.Header.Get("Cache-Control"), got)
	}
	t.Logf("503 after %s", time.Since(start).Round(time.Millisecond))
	if resp, _ := fetch(t, ts, "/"); resp.StatusCode != 200 {
		t.Errorf("cached GET / with the store down = %d", resp.StatusCode)
	}
}
