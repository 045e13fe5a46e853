package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"site/app/config"
	"site/app/store"
)

// siteData is what a command that works on the site's content opens (the
// import and the export): a logger, the object store findObjects finds,
// and data.db where the site keeps it.
type siteData struct {
	logger *slog.Logger
	objs   *objectStore
	db     *store.DB
}

// openSiteData prepares the process (the CA bundle, the secrets) and opens
// the object store and data.db for a command; close releases both.
func openSiteData(ctx context.Context, cfg *config.Config, stderr io.Writer) (*siteData, error) {
	logger := newLogger(cfg, stderr)
	if err := applyCABundle(cfg, logger); err != nil {
		return nil, err
	}
	if err := fillSecrets(cfg); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	objs, err := findObjects(ctx, cfg, false, 0, logger)
	if err != nil {
		return nil, err
	}
	db, err := store.OpenData(ctx, filepath.Join(cfg.DataDir, store.DataFile))
	if err != nil {
		objs.Close()
		return nil, err
	}
	return &siteData{logger: logger, objs: objs, db: db}, nil
}

// close closes data.db, then the object store.
func (s *siteData) close() {
	s.db.Close()
	s.objs.Close()
}
