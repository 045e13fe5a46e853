// Package replica runs Litestream as a library: continuous replication of one
// SQLite database file to an S3 bucket, and point-in-time restore from it.
//
// The application must open the database with modernc.org/sqlite (driver
// "sqlite"), the engine Litestream itself runs in this process: a second
// SQLite engine with another locking scheme would drop Litestream's POSIX
// locks whenever one of its connections closes.
package replica

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/benbjohnson/litestream/s3"
)

// DefaultRegion is the region used when Target.Region is empty.
const DefaultRegion = "us-east-1"

// EnvCABundle is the AWS SDK variable that makes Litestream's S3 client fail.
const EnvCABundle = "AWS_CA_BUNDLE"

// Attribute keys used in log records.
const (
	logKeyDB       = "db"
	logKeyReplica  = "replica"
	logKeyOutput   = "output"
	logKeyTXID     = "txid"
	logKeyAt       = "at"
	logKeyDuration = "duration"
	logKeyFiles    = "files"
	logKeyInterval = "interval"
	logKeyError    = "error"
	logKeyPoints   = "points"
	logKeyTried    = "tried"
	logKeyReason   = "reason"
)

var (
	// ErrExists is returned (wrapped) when the restore output exists and Force is false.
	ErrExists = errors.New("replica: output file exists")

	// ErrNoBackup is returned (wrapped) when the replica holds no backup at all.
	ErrNoBackup = errors.New("replica: no backup in the replica")

	// ErrTooEarly is returned (wrapped) when a restore asks for a time before
	// the first backup in the replica.
	ErrTooEarly = errors.New("replica: no backup as old as the requested time")

	// ErrCABundle is returned (wrapped) by Open and Restore while AWS_CA_BUNDLE
	// is set: the AWS SDK then rejects the HTTP client Litestream supplies
	// ("unable to add custom RootCAs HTTPClient"), so the process must move the
	// bundle elsewhere first (site/app/cabundle.Apply does).
	ErrCABundle = errors.New("replica: AWS_CA_BUNDLE is set; call cabundle.Apply first")

	// ErrClosed is returned by Sync after Close and by Open after Close.
	ErrClosed = errors.New("replica: replicator closed")

	// ErrNotOpen is returned by Sync before Open.
	ErrNotOpen = errors.New("replica: replicator not open")
)

// Target says where the replica lives.
type Target struct {
	Endpoint  string // "http://127.0.0.1:9000" (any S3 API, path-style); empty means AWS S3
	Region    string // default us-east-1
	Bucket    string // e.g. "backup"
	Path      string // key prefix inside the bucket, e.g. "data.db"
	AccessKey string // empty with SecretKey empty: the AWS default credential chain
	SecretKey string
}

// String returns the target as an s3:// URL with the endpoint, never the keys.
func (t Target) String() string {
	s := "s3://" + t.Bucket + "/" + strings.Trim(t.Path, "/")
	if t.Endpoint != "" {
		s += " at " + t.Endpoint
	}
	return s
}

// client validates the target and returns a Litestream S3 client for it.
func (t Target) client() (*s3.ReplicaClient, error) {
	if t.Bucket == "" {
		return nil, errors.New("target: bucket required")
	}
	prefix := strings.Trim(t.Path, "/")
	if prefix == "" {
		return nil, errors.New("target: path required")
	}
	if (t.AccessKey == "") != (t.SecretKey == "") {
		return nil, errors.New("target: access key and secret key go together")
	}
	if t.Endpoint != "" {
		u, err := url.Parse(t.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("target: endpoint: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("target: endpoint %q: want http://host:port or https://host", t.Endpoint)
		}
	}

	c := s3.NewReplicaClient()
	c.Bucket = t.Bucket
	c.Path = prefix
	c.Region = t.Region
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	c.AccessKeyID = t.AccessKey
	c.SecretAccessKey = t.SecretKey
	if t.Endpoint != "" {
		// A custom endpoint is a self-hosted S3 API: path-style addressing,
		// plain HTTP allowed (the client disables HTTPS for http:// URLs and
		// skips the aws-chunked checksums such servers reject).
		c.Endpoint = strings.TrimRight(t.Endpoint, "/")
		c.ForcePathStyle = true
	}
	return c, nil
}

// checkEnv returns ErrCABundle while AWS_CA_BUNDLE is set.
func checkEnv() error {
	if v := os.Getenv(EnvCABundle); v != "" {
		return fmt.Errorf("%w (%s=%s)", ErrCABundle, EnvCABundle, v)
	}
	return nil
}
