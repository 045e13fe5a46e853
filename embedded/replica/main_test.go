package replica_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"

	"site/app/cabundle"
	"site/embedded/replica"
)

const (
	testAccess = "replica-test"
	testSecret = "replica-test-secret"
	testBucket = "backup"
)

// s3Endpoint is the URL of the S3 server the whole package shares.
var s3Endpoint string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	scratch, err := os.MkdirTemp("", "replica-test-")
	if err != nil {
		log.Print(err)
		return 1
	}
	defer os.RemoveAll(scratch)

	// What the real process does at start: AWS_CA_BUNDLE (set on this
	// machine) would make Litestream's S3 client fail at Init.
	if _, err := cabundle.Apply(filepath.Join(scratch, "ca")); err != nil {
		log.Print(err)
		return 1
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop, err := startGateway(ctx, scratch)
	if err != nil {
		log.Print(err)
		return 1
	}
	defer stop()
	return m.Run()
}

// startGateway runs versitygw on a loopback port with a posix backend under
// dir and creates testBucket. posix.New changes the working directory, so
// every other path in the tests is absolute; one gateway per process.
func startGateway(ctx context.Context, dir string) (stop func(), err error) {
	root := filepath.Join(dir, "s3")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	var ms meta.MetadataStorer = meta.XattrMeta{}
	opts := posix.PosixOpts{
		Concurrency:         5000,
		CopyObjectThreshold: 5 << 30,
	}
	if err := (meta.XattrMeta{}).Test(root); err != nil {
		sidecar := filepath.Join(dir, "s3-meta")
		sc, err := meta.NewSideCar(sidecar)
		if err != nil {
			return nil, fmt.Errorf("sidecar metadata: %w", err)
		}
		ms, opts.SideCarDir = sc, sidecar
	}
	be, err := posix.New(root, ms, opts)
	if err != nil {
		return nil, fmt.Errorf("posix backend: %w", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	ctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		errc <- embedgw.RunVersityGW(ctx, be, &embedgw.Config{
			RootUserAccess:    testAccess,
			RootUserSecret:    testSecret,
			Region:            replica.DefaultRegion,
			Ports:             []string{addr},
			MaxConnections:    1000,
			MaxRequests:       1000,
			MultipartMaxParts: 10000,
			Quiet:             true,
		})
	}()
	stop = func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(5 * time.Second):
		}
		be.Shutdown()
	}

	mc, err := minio.New(addr, &minio.Options{
		Creds:        credentials.NewStaticV4(testAccess, testSecret, ""),
		Region:       replica.DefaultRegion,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		stop()
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		err = mc.MakeBucket(ctx, testBucket, minio.MakeBucketOptions{Region: replica.DefaultRegion})
		if err == nil {
			break
		}
		select {
		case err := <-errc:
			cancel()
			return nil, fmt.Errorf("gateway: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("create bucket: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s3Endpoint = "http://" + addr
	return stop, nil
}

// newTarget returns a Target under a key prefix of its own in testBucket.
func newTarget(t testing.TB) replica.Target {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return replica.Target{
		Endpoint:  s3Endpoint,
		Bucket:    testBucket,
		Path:      fmt.Sprintf("%s-%d/data.db", name, time.Now().UnixNano()),
		AccessKey: testAccess,
		SecretKey: testSecret,
	}
}

// testLogger returns a logger writing to the test's output until it ends;
// Litestream goroutines that outlive the test write nowhere.
func testLogger(t testing.TB) *slog.Logger {
	w := &gatedWriter{w: t.Output()}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type gatedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gatedWriter) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
