// Package backup copies the object buckets and the Litestream replica of
// data.db to an offsite S3 store in three tiers (daily/, 1-week/, 2-week/),
// incrementally, verifies a tier by restoring it, and brings a tier back
// into an empty data dir.
//
// Each tier keeps a manifest object (.manifest.json.gz) listing what it
// holds: for every object its size, the ETag it had at the source and the
// ETag it has in the tier. A run lists the source once, compares it with the
// manifest and copies only what differs, so a run with no change reads one
// listing and one small object and writes nothing. A tier changed behind the
// manifest's back (an object deleted or replaced in the offsite store) is
// found by the weekly verify, which lists the tier, fixes the manifest and
// so makes the next run copy the difference again.
package backup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Endpoint is an S3 API and the keys to sign requests to it.
type Endpoint struct {
	// URL such as "http://127.0.0.1:9000"; empty means AWS S3 in Region.
	URL string
	// Region is the S3 region; default us-east-1.
	Region string
	// AccessKey and SecretKey; both empty means the AWS default credential chain.
	AccessKey string
	SecretKey string
	// ResponseTimeout bounds the wait for a response's headers once a
	// request is sent, so that a store that accepts connections and then
	// hangs fails the run (which is retried) instead of holding it
	// forever; default 2 minutes.
	ResponseTimeout time.Duration
}

// maxConns bounds the open connections per S3 host.
const maxConns = 64

// NewS3 returns an aws-sdk-go-v2 S3 client for e with path-style addressing,
// retries with backoff (5 attempts), and checksums only where the API
// requires them (so the same client works with any S3 implementation).
func NewS3(ctx context.Context, e Endpoint) (*s3.Client, error) {
	region := e.Region
	if region == "" {
		region = "us-east-1"
	}
	if (e.AccessKey == "") != (e.SecretKey == "") {
		return nil, errors.New("s3 client: access key and secret key go together")
	}
	if e.URL != "" {
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3 client: endpoint %q: want http://host:port or https://host", e.URL)
		}
	}
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = maxConns * 2
		t.MaxIdleConnsPerHost = maxConns
		t.IdleConnTimeout = 90 * time.Second
		t.ResponseHeaderTimeout = cmp.Or(e.ResponseTimeout, 2*time.Minute)
	})
	opt := func(o *s3.Options) {
		o.Region = region
		o.UsePathStyle = true
		o.RetryMaxAttempts = 5
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.HTTPClient = hc
		if e.URL != "" {
			o.BaseEndpoint = aws.String(strings.TrimRight(e.URL, "/"))
		}
	}
	if e.AccessKey != "" {
		return s3.New(s3.Options{Credentials: credentials.NewStaticCredentialsProvider(e.AccessKey, e.SecretKey, "")}, opt), nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region), awsconfig.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("s3 client: aws config: %w", err)
	}
	return s3.NewFromConfig(cfg, opt), nil
}

// object is what a listing says about one object.
type object struct {
	Key  string
	Size int64
	ETag string
}

// list calls fn for every object under prefix in bucket, with the key
// relative to prefix.
func list(ctx context.Context, c *s3.Client, bucket, prefix string, fn func(object)) error {
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			fn(object{Key: strings.TrimPrefix(aws.ToString(o.Key), prefix), Size: aws.ToInt64(o.Size), ETag: cleanETag(aws.ToString(o.ETag))})
		}
	}
	return nil
}

// cleanETag drops the quotes S3 puts around an ETag.
func cleanETag(s string) string { return strings.Trim(s, `"`) }

// isNotFound reports whether err is S3's answer for a missing object.
func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}
