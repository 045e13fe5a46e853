package objects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"syscall"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// NewClient returns a minio-go client for endpoint, a URL such as
// "http://127.0.0.1:9000" or "https://s3.amazonaws.com" (a bare host:port
// means http). It uses path-style bucket lookup so that it works the same
// against the embedded server, MinIO and AWS S3. Options adjust the
// client's minio.Options, e.g. OneTry.
func NewClient(endpoint, accessKey, secretKey, region string, options ...func(*minio.Options)) (*minio.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		// "host:port" parses as scheme "host"; retry it as http.
		u, err = url.Parse("http://" + endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("objects: endpoint %q: not a URL", endpoint)
		}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("objects: endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("objects: endpoint %q: must not have a path", endpoint)
	}
	if region == "" {
		region = DefaultRegion
	}
	opts := &minio.Options{
		Creds:        credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
	}
	for _, o := range options {
		o(opts)
	}
	c, err := minio.New(u.Host, opts)
	if err != nil {
		return nil, fmt.Errorf("objects: new client for %s: %w", endpoint, err)
	}
	return c, nil
}

// Unavailable reports whether err means the store could not be reached
// (refused, reset, timed out) or answered with a server error: an outage,
// not a missing object or a refused request.
func Unavailable(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return minio.ToErrorResponse(err).StatusCode >= 500
}

// OneTry makes a client that does not retry a failed request: for requests
// a reader waits on, which should fail fast (minio-go otherwise retries a
// refused connection for several seconds).
func OneTry(o *minio.Options) { o.MaxRetries = 1 }

// Client returns a minio-go client for the open server, signed with its root
// keys.
func (s *Server) Client() (*minio.Client, error) {
	s.mu.Lock()
	endpoint := s.endpoint()
	s.mu.Unlock()
	if endpoint == "" {
		return nil, fmt.Errorf("objects: server not open")
	}
	return NewClient(endpoint, s.AccessKey, s.SecretKey, s.Region)
}

// PublicReadPolicy returns the bucket policy that lets anyone GET the
// objects of bucket, and nothing else.
func PublicReadPolicy(bucket string) string {
	type statement struct {
		Sid       string   `json:"Sid"`
		Effect    string   `json:"Effect"`
		Principal string   `json:"Principal"`
		Action    []string `json:"Action"`
		Resource  []string `json:"Resource"`
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{
		Version: "2012-10-17",
		Statement: []statement{{
			Sid:       "PublicRead",
			Effect:    "Allow",
			Principal: "*",
			Action:    []string{"s3:GetObject"},
			Resource:  []string{"arn:aws:s3:::" + bucket + "/*"},
		}},
	}
	b, _ := json.Marshal(doc) // cannot fail: plain strings
	return string(b)
}

// setupBuckets creates the missing Buckets and applies their policies:
// PublicReadPolicy on PublicBuckets, none on the others. The caller holds
// s.mu.
func (s *Server) setupBuckets(ctx context.Context) error {
	c, err := NewClient(s.endpoint(), s.AccessKey, s.SecretKey, s.Region)
	if err != nil {
		return err
	}
	for _, b := range s.Buckets {
		ok, err := c.BucketExists(ctx, b)
		if err != nil {
			return fmt.Errorf("objects: check bucket %s: %w", b, err)
		}
		if !ok {
			err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: s.Region})
			if err != nil {
				return fmt.Errorf("objects: create bucket %s: %w", b, err)
			}
			s.logger().Info("objects: bucket created", logKeyBucket, b)
		}
		if err := s.applyPolicy(ctx, c, b); err != nil {
			return err
		}
	}
	return nil
}

// applyPolicy sets or removes the bucket policy of b, writing only when it
// differs from what the bucket has.
func (s *Server) applyPolicy(ctx context.Context, c *minio.Client, b string) error {
	want := ""
	if slices.Contains(s.PublicBuckets, b) {
		want = PublicReadPolicy(b)
	}
	have, err := c.GetBucketPolicy(ctx, b)
	if err != nil {
		return fmt.Errorf("objects: get policy of bucket %s: %w", b, err)
	}
	if sameJSON(have, want) {
		return nil
	}
	if err := c.SetBucketPolicy(ctx, b, want); err != nil {
		return fmt.Errorf("objects: set policy of bucket %s: %w", b, err)
	}
	s.logger().Info("objects: bucket policy applied", logKeyBucket, b, "public", want != "")
	return nil
}

// sameJSON reports whether two JSON documents are equal, ignoring layout;
// two empty strings are equal.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}
