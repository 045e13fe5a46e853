// Package backuptest starts the real S3 servers that the backup and cron
// tests copy between: the embedded object server in the test process as the
// source, and the site binary's objects role in a child process standing in
// for AWS S3 (versitygw allows one gateway per process).
package backuptest

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"site/app/backup"
	"site/app/cabundle"
	"site/embedded/objects"
)

// Keys of the servers started here.
const (
	AccessKey = "backuptest-access"
	SecretKey = "backuptest-secret-0123456789"
	// OffsiteBucket is the bucket created on the "AWS" server.
	OffsiteBucket = "offsite"
)

var (
	dir       string
	moduleDir string // a directory inside the module, for go build
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Main prepares a temp dir for the site binary (built by the first
// MustAWS), runs the tests and removes the dir; call it from TestMain:
// os.Exit(backuptest.Main(m)).
func Main(m *testing.M) int {
	var err error
	dir, err = os.MkdirTemp("", "site-backuptest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The object server changes the working directory; go build must run
	// inside the module.
	if moduleDir, err = os.Getwd(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := cabundle.Apply(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Binary builds the site binary once and returns its path
// ($SITE_BACKUPTEST_BINARY names a prebuilt one instead).
func Binary(tb testing.TB) string {
	tb.Helper()
	if dir == "" {
		tb.Fatal("backuptest.Main did not run")
	}
	buildOnce.Do(func() {
		if prebuilt := os.Getenv("SITE_BACKUPTEST_BINARY"); prebuilt != "" {
			binary = prebuilt
			return
		}
		path := filepath.Join(dir, "site")
		build := exec.Command("go", "build", "-o", path, "site/app")
		build.Dir = moduleDir
		out, err := build.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build site: %v\n%s", err, out)
			return
		}
		binary = path
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binary
}

var objectsLine = regexp.MustCompile(`^\s+objects\s+(http://\S+)`)

// MustAWS starts `site serve --roles=objects` in a child process on a
// loopback port with a fresh data dir, creates OffsiteBucket in it, and
// stops it when the test ends. It stands in for AWS S3.
func MustAWS(tb testing.TB) backup.Endpoint {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	cmd := exec.Command(bin, "serve", "--roles=objects", "--data-dir", dir, "--objects.listen", "127.0.0.1:0", "--log_level", "warn")
	cmd.Env = append(os.Environ(), "SITE_S3_ACCESS_KEY="+AccessKey, "SITE_S3_SECRET_KEY="+SecretKey, "SITE_CONFIG=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	urls := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if m := objectsLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				urls <- m[1]
				sent = true
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	var u string
	select {
	case u = <-urls:
	case <-done:
		tb.Fatalf("objects server exited: %s", stderr.String())
	case <-time.After(60 * time.Second):
		tb.Fatalf("objects server not up after 60s: %s", stderr.String())
	}
	e := backup.Endpoint{URL: u, AccessKey: AccessKey, SecretKey: SecretKey}
	c := MustS3(tb, e)
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(OffsiteBucket)}); err != nil {
		tb.Fatalf("create bucket %s: %v", OffsiteBucket, err)
	}
	return e
}

// MustSource opens the embedded object server in this process, with the
// buckets public, private and backup under a temp dir, and closes it when
// the test ends. Only one may be open at a time.
func MustSource(tb testing.TB) backup.Endpoint {
	tb.Helper()
	srv := objects.NewServer()
	srv.Root = filepath.Join(tb.TempDir(), "objects")
	srv.Listen = "127.0.0.1:0"
	srv.AccessKey, srv.SecretKey = AccessKey, SecretKey
	srv.Logger = slog.New(slog.DiscardHandler)
	if err := srv.Open(context.Background()); err != nil {
		tb.Fatalf("open source objects server: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return backup.Endpoint{URL: srv.Endpoint(), AccessKey: AccessKey, SecretKey: SecretKey}
}

// MustS3 returns an S3 client for e.
func MustS3(tb testing.TB, e backup.Endpoint) *s3.Client {
	tb.Helper()
	c, err := backup.NewS3(context.Background(), e)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Put writes body at bucket/key.
func Put(tb testing.TB, c *s3.Client, bucket, key, body string) {
	tb.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		tb.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// Delete removes bucket/key.
func Delete(tb testing.TB, c *s3.Client, bucket, key string) {
	tb.Helper()
	if _, err := c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		tb.Fatalf("delete %s/%s: %v", bucket, key, err)
	}
}

// Get returns the body at bucket/key, or "" with ok false when missing.
func Get(tb testing.TB, c *s3.Client, bucket, key string) (string, bool) {
	tb.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchKey") || strings.Contains(err.Error(), "404") {
			return "", false
		}
		tb.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(out.Body).WriteTo(&b); err != nil {
		tb.Fatal(err)
	}
	return b.String(), true
}

// Keys lists the keys under prefix in bucket, manifest excluded, sorted.
func Keys(tb testing.TB, c *s3.Client, bucket, prefix string) []string {
	tb.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			if k := strings.TrimPrefix(aws.ToString(o.Key), prefix); k != backup.ManifestName {
				keys = append(keys, k)
			}
		}
	}
	return keys
}
