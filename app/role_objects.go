package main

import (
	"context"
	"fmt"
	"path/filepath"

	"site/app/config"
	"site/embedded/objects"
)

// openObjects starts the objects role (the embedded S3 server on
// objects.listen) when this process runs it, and an S3 client when web,
// worker or cron runs here.
func (m *Main) openObjects(ctx context.Context) error {
	cfg := m.Config
	m.endpoint = cfg.Objects.Endpoint
	if cfg.Has(config.RoleObjects) {
		srv := objects.NewServer()
		srv.Root = filepath.Join(cfg.DataDir, "objects")
		srv.Listen = cfg.Objects.Listen
		srv.AccessKey, srv.SecretKey = cfg.Objects.AccessKey, cfg.Objects.SecretKey
		srv.Region = cfg.Objects.Region
		srv.Buckets = []string{config.BucketPublic, config.BucketPrivate, config.BucketBackup}
		srv.PublicBuckets = []string{config.BucketPublic}
		srv.Logger = m.Logger.With("role", config.RoleObjects)
		if err := srv.Open(ctx); err != nil {
			return fmt.Errorf("objects: %w", err)
		}
		m.objects = srv
		if m.endpoint == "" {
			m.endpoint = srv.Endpoint()
		}
	}
	if !(cfg.Has(config.RoleWeb) || cfg.Has(config.RoleWorker) || cfg.Has(config.RoleCron)) {
		return nil
	}
	client, err := objects.NewClient(m.endpoint, cfg.Objects.AccessKey, cfg.Objects.SecretKey, cfg.Objects.Region)
	if err != nil {
		return fmt.Errorf("objects client: %w", err)
	}
	m.s3 = client
	return nil
}

// closeObjects stops the embedded S3 server, if this process runs it.
func (m *Main) closeObjects() error {
	if m.objects == nil {
		return nil
	}
	return m.objects.Close()
}
