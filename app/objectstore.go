package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/config"
	"site/embedded/objects"
	"site/embedded/replica"
)

// objectStore is the S3 store a process works against: found at an
// address, or the embedded server this process started.
type objectStore struct {
	// Endpoint is the URL clients use.
	Endpoint string
	// Client is a client of Endpoint signed with objects.access_key.
	Client *minio.Client
	// Reader is the same but tries once: for what a reader's request
	// waits on (/media/), which should answer 503 at once, not after
	// seconds of retries, while the store is down.
	Reader *minio.Client
	// Server is the embedded server this process started, or nil.
	Server *objects.Server

	buckets []string
}

// probeTimeout bounds one probe of an object store.
const probeTimeout = 2 * time.Second

// findObjects finds or starts the object store of cfg; serve, restore,
// backup and import all reach it this way:
//
//   - with serve set (the serve command's objects role), it starts the
//     embedded server on objects.listen; clients use objects.endpoint when
//     set (which must then answer as below), else that server;
//   - else objects.endpoint when set: it must pass Probe, retried for up to
//     wait (processes started together need no particular order), else
//     the error names the endpoint and what it answered;
//   - else a site already serving objects.listen on this machine, when it
//     passes Probe at once (same keys, the buckets there);
//   - else the embedded server on a free loopback port, for the length of
//     a command, on the data dir's objects.
//
// Close stops a server it started.
func findObjects(ctx context.Context, cfg *config.Config, serve bool, wait time.Duration, logger *slog.Logger) (*objectStore, error) {
	s := &objectStore{buckets: storeBuckets(cfg)}
	switch {
	case serve:
		if err := s.start(ctx, cfg, cfg.Objects.Listen, logger); err != nil {
			return nil, err
		}
		if cfg.Objects.Endpoint == "" {
			return s, nil
		}
		if err := s.use(ctx, cfg, cfg.Objects.Endpoint, wait, logger); err != nil {
			_ = s.Close()
			return nil, err
		}
		return s, nil
	case cfg.Objects.Endpoint != "":
		if err := s.use(ctx, cfg, cfg.Objects.Endpoint, wait, logger); err != nil {
			return nil, err
		}
		return s, nil
	}
	local := "http://" + config.Reachable(cfg.Objects.Listen)
	if err := s.connect(cfg, local); err == nil && s.Probe(ctx) == nil {
		return s, nil
	}
	if err := s.start(ctx, cfg, "127.0.0.1:0", logger); err != nil {
		return nil, err
	}
	return s, nil
}

// storeBuckets are the buckets every user of the store needs.
func storeBuckets(cfg *config.Config) []string {
	bs := []string{config.BucketPublic, config.BucketPrivate}
	if cfg.Replica.Bucket != config.BucketPublic && cfg.Replica.Bucket != config.BucketPrivate {
		bs = append(bs, cfg.Replica.Bucket)
	}
	return bs
}

// Probe is the one test that an object store answers: its address takes a
// TCP connection (so that nothing listening fails at once, not after the
// S3 client's retries), and with the configured keys each of the buckets
// the site needs exists.
func (s *objectStore) Probe(ctx context.Context) error {
	u := s.Client.EndpointURL()
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	dctx, cancel := context.WithTimeout(ctx, probeTimeout)
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return err
	}
	conn.Close()
	for _, b := range s.buckets {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		ok, err := s.Client.BucketExists(pctx, b)
		cancel()
		if err != nil {
			return fmt.Errorf("bucket %q: %w", b, err)
		}
		if !ok {
			return fmt.Errorf("bucket %q does not exist", b)
		}
	}
	return nil
}

// use points s at endpoint once it passes Probe, retrying for up to wait.
func (s *objectStore) use(ctx context.Context, cfg *config.Config, endpoint string, wait time.Duration, logger *slog.Logger) error {
	if err := s.connect(cfg, endpoint); err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		err := s.Probe(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			if wait > 0 {
				return fmt.Errorf("objects.endpoint %s: no answer within %s: %w", endpoint, wait, err)
			}
			return fmt.Errorf("objects.endpoint %s: no answer: %w", endpoint, err)
		}
		logger.Info("waiting for the object store", "endpoint", endpoint, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// connect makes the client of endpoint.
func (s *objectStore) connect(cfg *config.Config, endpoint string) error {
	c, err := objects.NewClient(endpoint, cfg.Objects.AccessKey, cfg.Objects.SecretKey, cfg.Objects.Region)
	if err != nil {
		return fmt.Errorf("objects client: %w", err)
	}
	reader, err := objects.NewClient(endpoint, cfg.Objects.AccessKey, cfg.Objects.SecretKey, cfg.Objects.Region, objects.OneTry)
	if err != nil {
		return fmt.Errorf("objects client: %w", err)
	}
	s.Endpoint, s.Client, s.Reader = endpoint, c, reader
	return nil
}

// start runs the embedded server on the data dir's objects, listening on
// listen, and points s at it.
func (s *objectStore) start(ctx context.Context, cfg *config.Config, listen string, logger *slog.Logger) error {
	srv := objects.NewServer()
	srv.Root = filepath.Join(cfg.DataDir, "objects")
	srv.Listen = listen
	srv.AccessKey, srv.SecretKey = cfg.Objects.AccessKey, cfg.Objects.SecretKey
	srv.Region = cfg.Objects.Region
	srv.Buckets = s.buckets
	if !slices.Contains(srv.Buckets, config.BucketBackup) {
		srv.Buckets = append(srv.Buckets, config.BucketBackup)
	}
	srv.PublicBuckets = []string{config.BucketPublic}
	srv.Logger = logger
	if err := srv.Open(ctx); err != nil {
		return fmt.Errorf("objects: %w", err)
	}
	s.Server = srv
	if err := s.connect(cfg, srv.Endpoint()); err != nil {
		return errors.Join(err, s.Close())
	}
	return nil
}

// server is the embedded server this process started, or nil.
func (s *objectStore) server() *objects.Server {
	if s == nil {
		return nil
	}
	return s.Server
}

// Close stops the embedded server if this process started it.
func (s *objectStore) Close() error {
	if s == nil || s.Server == nil {
		return nil
	}
	return s.Server.Close()
}

// replicaTarget is where Litestream keeps data.db: replica.bucket and
// replica.path on the object store at endpoint. serve replicates to it,
// the replica check and restore read it.
func replicaTarget(cfg *config.Config, endpoint string) replica.Target {
	return replica.Target{
		Endpoint: endpoint, Region: cfg.Objects.Region, Bucket: cfg.Replica.Bucket, Path: cfg.Replica.Path,
		AccessKey: cfg.Objects.AccessKey, SecretKey: cfg.Objects.SecretKey,
	}
}
