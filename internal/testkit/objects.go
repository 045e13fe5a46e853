package testkit

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/minio/minio-go/v7"

	"site/embedded/objects"
)

// Objects starts the embedded S3 server on a free loopback port in a temp
// dir, with the site's public (readable anonymously) and private buckets
// unless configure changes them, and returns it with a client; it stops
// at cleanup.
func Objects(tb testing.TB, configure ...func(*objects.Server)) (*objects.Server, *minio.Client) {
	tb.Helper()
	srv := objects.NewServer()
	srv.Root = filepath.Join(tb.TempDir(), "objects")
	srv.Listen = "127.0.0.1:0"
	srv.AccessKey, srv.SecretKey = "test-access-key", "test-secret-key-0123456789"
	srv.Buckets, srv.PublicBuckets = []string{"public", "private"}, []string{"public"}
	srv.Logger = slog.New(slog.DiscardHandler)
	for _, f := range configure {
		f(srv)
	}
	if err := srv.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	c, err := srv.Client()
	if err != nil {
		tb.Fatal(err)
	}
	return srv, c
}
