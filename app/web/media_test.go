package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"site/app/web"
	"site/embedded/objects"
)

// TestMedia streams objects of the public bucket under /media/ with Range
// and revalidation, and refuses keys that are not plain object names.
func TestMedia(t *testing.T) {
	srv := objects.NewServer()
	srv.Root = filepath.Join(t.TempDir(), "objects")
	srv.Listen = "127.0.0.1:0"
	srv.AccessKey, srv.SecretKey = "test-access-key", "test-secret-key-0123456789"
	srv.Buckets, srv.PublicBuckets = []string{"public", "private"}, []string{"public"}
	srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := srv.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("0123456789", 1000)
	for _, o := range []struct{ bucket, key string }{{"public", "posts/a/data.bin"}, {"private", "secret.txt"}} {
		if _, err := c.PutObject(context.Background(), o.bucket, o.key, strings.NewReader(body), int64(len(body)),
			minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
			t.Fatal(err)
		}
	}
	_, ts := MustSite(t, func(s *web.Server) { s.Objects, s.PublicBucket = c, "public" })

	resp, got := fetch(t, ts, "/media/posts/a/data.bin")
	if resp.StatusCode != 200 || got != body || resp.Header.Get("Accept-Ranges") != "bytes" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") || resp.Header.Get("Cache-Control") != "public, max-age=86400" {
		t.Fatalf("GET media: %d, %d bytes, headers %v", resp.StatusCode, len(got), resp.Header)
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := fetch(t, ts, "/media/posts/a/data.bin", "If-None-Match", etag); resp.StatusCode != 304 {
		t.Errorf("revalidation = %d", resp.StatusCode)
	}
	resp, got = fetch(t, ts, "/media/posts/a/data.bin", "Range", "bytes=9990-")
	if resp.StatusCode != 206 || got != "0123456789" || resp.Header.Get("Content-Range") != "bytes 9990-9999/10000" {
		t.Errorf("Range: %d %q %s", resp.StatusCode, got, resp.Header.Get("Content-Range"))
	}
	// Many ranges get the whole object, one read (each range would be a
	// read from the object store; 2,000 of them cost seconds of CPU).
	ranges := make([]string, 2000)
	for i := range ranges {
		ranges[i] = fmt.Sprintf("%d-%d", i*5, i*5)
	}
	resp, got = fetch(t, ts, "/media/posts/a/data.bin", "Range", "bytes="+strings.Join(ranges, ","))
	if resp.StatusCode != 200 || got != body {
		t.Errorf("2,000 ranges: %d, %d bytes (%s)", resp.StatusCode, len(got), resp.Header.Get("Content-Type"))
	}
	for _, path := range []string{"/media/missing.bin", "/media/../private/secret.txt", "/media/%2e%2e/secret.txt", "/media/a//b", "/media/a%20b"} {
		if resp, got := fetch(t, ts, path); (resp.StatusCode != 404 && resp.StatusCode != 307) || strings.Contains(got, "0123456789") {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
}
