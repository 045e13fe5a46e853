package media_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"site/app/content"
	"site/app/media"
	"site/internal/testkit"
)

// mustObjects starts the embedded object server with the public (readable
// anonymously) and private buckets; it returns a client and the endpoint.
func mustObjects(tb testing.TB) (*minio.Client, string) {
	tb.Helper()
	srv, c := testkit.Objects(tb)
	return c, srv.Endpoint()
}

func put(tb testing.TB, c *minio.Client, bucket, key, body string) {
	tb.Helper()
	if _, err := c.PutObject(context.Background(), bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		tb.Fatal(err)
	}
}

func read(tb testing.TB, c *minio.Client, bucket, key string) (string, bool) {
	tb.Helper()
	obj, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// TestMoveToPrivate: the originals and variants earlier releases put in
// the public bucket move to the private one (copied first when missing
// there, so nothing is lost) and are no longer readable anonymously; other
// public files stay; a second run moves nothing.
func TestMoveToPrivate(t *testing.T) {
	ctx := context.Background()
	c, endpoint := mustObjects(t)
	db := testkit.DataDB(t)
	cs := content.NewStore(db)
	for _, img := range []content.Image{{Key: "posts/a/cat.jpg", OriginalKey: "originals/posts/a/cat.jpg"}, {Key: "posts/b/dog.jpg"}} {
		if err := cs.SaveImage(ctx, img); err != nil {
			t.Fatal(err)
		}
	}
	put(t, c, "public", "posts/a/cat.jpg", "cat with GPS")
	put(t, c, "private", "originals/posts/a/cat.jpg", "cat with GPS")
	put(t, c, "public", "posts/b/dog.jpg", "dog with GPS") // no private copy yet
	put(t, c, "public", "variants/posts/a/cat/320.jpg", "stripped cat")
	put(t, c, "public", "files/notes.txt", "public notes")

	n, err := media.MoveToPrivate(ctx, c, db.Read, "public", "private")
	if err != nil || n != 3 {
		t.Fatalf("MoveToPrivate = %d, %v; want 3 moved", n, err)
	}
	for key, want := range map[string]string{"originals/posts/a/cat.jpg": "cat with GPS", "originals/posts/b/dog.jpg": "dog with GPS",
		"variants/posts/a/cat/320.jpg": "stripped cat"} {
		if got, ok := read(t, c, "private", key); !ok || got != want {
			t.Errorf("private/%s = %q, %v; want %q", key, got, ok, want)
		}
	}
	for _, key := range []string{"posts/a/cat.jpg", "posts/b/dog.jpg", "variants/posts/a/cat/320.jpg", "files/notes.txt"} {
		resp, err := http.Get(endpoint + "/public/" + key)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := key == "files/notes.txt"; (resp.StatusCode == 200) != want {
			t.Errorf("anonymous GET public/%s = %d", key, resp.StatusCode)
		}
	}
	if n, err := media.MoveToPrivate(ctx, c, db.Read, "public", "private"); err != nil || n != 0 {
		t.Errorf("second run = %d, %v; want 0", n, err)
	}
}
