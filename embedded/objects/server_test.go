package objects_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"site/embedded/objects"
)

const (
	testAccess = "test-access-key"
	testSecret = "test-secret-key-0123456789"
)

// newTestServer returns a Server on 127.0.0.1:0 in root, not yet open.
func newTestServer(t *testing.T, root string) *objects.Server {
	t.Helper()
	s := objects.NewServer()
	s.Root = root
	s.Listen = "127.0.0.1:0"
	s.AccessKey = testAccess
	s.SecretKey = testSecret
	s.StartTimeout = 20 * time.Second
	s.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	return s
}

// mustOpen opens s and closes it at the end of the test unless closed before.
func mustOpen(t *testing.T, s *objects.Server) *minio.Client {
	t.Helper()
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	c, err := s.Client()
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	return c
}

func mustPut(t *testing.T, c *minio.Client, bucket, key, body string, opts minio.PutObjectOptions) {
	t.Helper()
	_, err := c.PutObject(context.Background(), bucket, key, strings.NewReader(body), int64(len(body)), opts)
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func mustGet(t *testing.T, c *minio.Client, bucket, key string) (string, minio.ObjectInfo) {
	t.Helper()
	o, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	info, err := o.Stat()
	if err != nil {
		t.Fatalf("stat %s/%s: %v", bucket, key, err)
	}
	return string(b), info
}

// anonGet does an unsigned HTTP GET and returns status and body.
func anonGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// realPath resolves symlinks so that paths from os.Getwd compare equal.
func realPath(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatalf("eval symlinks %s: %v", p, err)
	}
	return r
}

// TestServer runs every case against real gateways in sequence: versitygw
// allows one gateway per process, so the cases cannot run in parallel.
func TestServer(t *testing.T) {
	wd0, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir(wd0) })
	dir := t.TempDir()
	root := filepath.Join(dir, "objects")

	t.Run("port in use fails and frees the slot", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		s := newTestServer(t, filepath.Join(dir, "busy"))
		s.Listen = ln.Addr().String()
		err = s.Open(t.Context())
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("Open on a busy port: got %v, want EADDRINUSE", err)
		}
		if got := realPath(t, mustGetwd(t)); got != realPath(t, wd0) {
			t.Errorf("cwd after failed Open = %s, want %s", got, wd0)
		}
	})

	s := newTestServer(t, root)
	c := mustOpen(t, s)
	t.Logf("endpoint %s, metadata %s", s.Endpoint(), s.Metadata())

	t.Run("addr and endpoint", testAddr(s))
	t.Run("cwd is root while open", func(t *testing.T) {
		if got, want := realPath(t, mustGetwd(t)), realPath(t, root); got != want {
			t.Errorf("os.Getwd() after Open = %s, want Root %s", got, want)
		}
	})
	t.Run("one server per process", func(t *testing.T) {
		other := newTestServer(t, filepath.Join(dir, "other"))
		if err := other.Open(t.Context()); !errors.Is(err, objects.ErrAlreadyRunning) {
			t.Fatalf("second Open: got %v, want ErrAlreadyRunning", err)
		}
		if err := s.Open(t.Context()); err == nil {
			t.Fatal("Open of an open server: no error")
		}
	})
	t.Run("buckets", testBuckets(c, "public", "private", "backup"))
	t.Run("roundtrip", testRoundtrip(c))
	t.Run("copy object", testCopy(c))
	t.Run("anonymous access", testAnonymous(s, c))

	mustPut(t, c, "private", "keep/me.txt", "still here", minio.PutObjectOptions{ContentType: "text/plain"})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Run("close restores cwd", func(t *testing.T) {
		if got := realPath(t, mustGetwd(t)); got != realPath(t, wd0) {
			t.Errorf("os.Getwd() after Close = %s, want %s", got, wd0)
		}
		if s.Close() != nil {
			t.Error("second Close returned an error")
		}
	})

	t.Run("restart keeps data", func(t *testing.T) {
		s2 := newTestServer(t, root)
		c2 := mustOpen(t, s2)
		body, info := mustGet(t, c2, "private", "keep/me.txt")
		if body != "still here" || info.ContentType != "text/plain" {
			t.Errorf("after restart: %q %q", body, info.ContentType)
		}
		if s2.Metadata() != s.Metadata() {
			t.Errorf("metadata store changed: %s then %s", s.Metadata(), s2.Metadata())
		}
		testAnonymous(s2, c2)(t)
	})

	t.Run("public bucket made private", func(t *testing.T) {
		s2 := newTestServer(t, root)
		s2.PublicBuckets = nil
		mustOpen(t, s2)
		if code, _ := anonGet(t, s2.Endpoint()+"/public/img/p.txt"); code != http.StatusForbidden {
			t.Errorf("anonymous GET public after policy removal = %d, want 403", code)
		}
	})

	t.Run("relative root, all interfaces", func(t *testing.T) {
		t.Chdir(dir)
		s2 := newTestServer(t, "objects")
		s2.Listen = ":0"
		c2 := mustOpen(t, s2)
		if s2.Root != root {
			t.Errorf("Root = %s, want %s", s2.Root, root)
		}
		if !strings.HasPrefix(s2.Addr(), ":") || !strings.HasPrefix(s2.Endpoint(), "http://127.0.0.1:") {
			t.Errorf("Addr() = %q, Endpoint() = %q", s2.Addr(), s2.Endpoint())
		}
		if body, _ := mustGet(t, c2, "private", "keep/me.txt"); body != "still here" {
			t.Errorf("body = %q", body)
		}
	})

	t.Run("sidecar metadata", func(t *testing.T) {
		sroot := filepath.Join(dir, "side")
		s3 := newTestServer(t, sroot)
		s3.ForceSidecar = true
		c3 := mustOpen(t, s3)
		if s3.Metadata() != objects.MetaSidecar {
			t.Fatalf("Metadata() = %q", s3.Metadata())
		}
		testRoundtrip(c3)(t)
		testCopy(c3)(t)
		mustPut(t, c3, "public", "a.css", "body{}", minio.PutObjectOptions{ContentType: "text/css"})
		if err := s3.Close(); err != nil {
			t.Fatal(err)
		}
		metaDir := filepath.Join(dir, ".side.meta")
		if _, err := os.Stat(filepath.Join(metaDir, "public", "a.css")); err != nil {
			t.Fatalf("no sidecar metadata: %v", err)
		}
		// Without ForceSidecar, existing sidecar data keeps the store.
		s4 := newTestServer(t, sroot)
		c4 := mustOpen(t, s4)
		if s4.Metadata() != objects.MetaSidecar {
			t.Fatalf("reopen: Metadata() = %q", s4.Metadata())
		}
		if _, info := mustGet(t, c4, "public", "a.css"); info.ContentType != "text/css" {
			t.Errorf("content type after reopen = %q", info.ContentType)
		}
		code, body := anonGet(t, s4.Endpoint()+"/public/a.css")
		if code != http.StatusOK || body != "body{}" {
			t.Errorf("anonymous GET = %d %q", code, body)
		}
	})
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func testAddr(s *objects.Server) func(*testing.T) {
	return func(t *testing.T) {
		host, port, err := net.SplitHostPort(s.Addr())
		if err != nil || host != "127.0.0.1" || port == "0" || port == "" {
			t.Fatalf("Addr() = %q (%v)", s.Addr(), err)
		}
		if want := "http://127.0.0.1:" + port; s.Endpoint() != want {
			t.Errorf("Endpoint() = %q, want %q", s.Endpoint(), want)
		}
		code, _ := anonGet(t, s.Endpoint()+objects.HealthPath)
		if code != http.StatusOK {
			t.Errorf("health = %d", code)
		}
	}
}

func testBuckets(c *minio.Client, want ...string) func(*testing.T) {
	return func(t *testing.T) {
		bs, err := c.ListBuckets(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range bs {
			names = append(names, b.Name)
		}
		for _, w := range want {
			if !slices.Contains(names, w) {
				t.Errorf("bucket %s missing from %v", w, names)
			}
		}
	}
}

func testRoundtrip(c *minio.Client) func(*testing.T) {
	return func(t *testing.T) {
		ctx := t.Context()
		body := strings.Repeat("hello objects ", 1000)
		mustPut(t, c, "private", "dir/a.txt", body, minio.PutObjectOptions{
			ContentType:  "text/plain; charset=utf-8",
			UserMetadata: map[string]string{"Origin": "test"},
		})
		mustPut(t, c, "private", "dir/b.txt", "b", minio.PutObjectOptions{})
		got, info := mustGet(t, c, "private", "dir/a.txt")
		if got != body {
			t.Errorf("body mismatch: %d bytes, want %d", len(got), len(body))
		}
		if info.ContentType != "text/plain; charset=utf-8" || info.UserMetadata["Origin"] != "test" {
			t.Errorf("metadata: type %q user %v", info.ContentType, info.UserMetadata)
		}
		var keys []string
		for o := range c.ListObjects(ctx, "private", minio.ListObjectsOptions{Prefix: "dir/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			keys = append(keys, o.Key)
		}
		if !slices.Equal(keys, []string{"dir/a.txt", "dir/b.txt"}) {
			t.Errorf("list = %v", keys)
		}
		for _, k := range keys {
			if err := c.RemoveObject(ctx, "private", k, minio.RemoveObjectOptions{}); err != nil {
				t.Fatalf("remove %s: %v", k, err)
			}
		}
		_, err := c.StatObject(ctx, "private", "dir/a.txt", minio.StatObjectOptions{})
		if minio.ToErrorResponse(err).Code != minio.NoSuchKey {
			t.Errorf("stat after delete: %v", err)
		}
	}
}

func testCopy(c *minio.Client) func(*testing.T) {
	return func(t *testing.T) {
		mustPut(t, c, "private", "orig.bin", "copy me", minio.PutObjectOptions{ContentType: "application/x-test"})
		_, err := c.CopyObject(t.Context(),
			minio.CopyDestOptions{Bucket: "public", Object: "copied.bin"},
			minio.CopySrcOptions{Bucket: "private", Object: "orig.bin"})
		if err != nil {
			t.Fatalf("CopyObject: %v", err)
		}
		body, info := mustGet(t, c, "public", "copied.bin")
		if body != "copy me" || info.ContentType != "application/x-test" {
			t.Errorf("copy = %q %q", body, info.ContentType)
		}
	}
}

func testAnonymous(s *objects.Server, c *minio.Client) func(*testing.T) {
	return func(t *testing.T) {
		mustPut(t, c, "public", "img/p.txt", "public body", minio.PutObjectOptions{})
		mustPut(t, c, "private", "img/p.txt", "private body", minio.PutObjectOptions{})
		ep := s.Endpoint()
		if code, body := anonGet(t, ep+"/public/img/p.txt"); code != http.StatusOK || body != "public body" {
			t.Errorf("anonymous GET public = %d %q", code, body)
		}
		if code, _ := anonGet(t, ep+"/private/img/p.txt"); code != http.StatusForbidden {
			t.Errorf("anonymous GET private = %d, want 403", code)
		}
		if code, _ := anonGet(t, ep+"/public?list-type=2"); code != http.StatusForbidden {
			t.Errorf("anonymous list public = %d, want 403", code)
		}
		req, _ := http.NewRequest(http.MethodPut, ep+"/public/evil.txt", bytes.NewReader([]byte("x")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("anonymous PUT public = %d, want 403", resp.StatusCode)
		}
	}
}
