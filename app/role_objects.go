package main

import (
	"context"
	"time"

	"site/app/config"
)

// objectsWait is how long a process waits for objects.endpoint to answer
// at start, so that processes started together need no particular order.
const objectsWait = 30 * time.Second

// openObjects starts the objects role (the embedded S3 server on
// objects.listen) when this process runs it, and finds the store (a client
// and its endpoint) when web, worker or cron runs here (findObjects).
func (m *Main) openObjects(ctx context.Context) error {
	cfg := m.Config
	serve := cfg.Has(config.RoleObjects)
	if !serve && !(cfg.Has(config.RoleWeb) || cfg.Has(config.RoleWorker) || cfg.Has(config.RoleCron)) {
		return nil
	}
	s, err := findObjects(ctx, cfg, serve, objectsWait, m.Logger.With("role", config.RoleObjects))
	if err != nil {
		return err
	}
	m.store = s
	return nil
}

// closeObjects stops the embedded S3 server, if this process runs it.
func (m *Main) closeObjects() error { return m.store.Close() }
