package main

import (
	"fmt"
	"strings"

	"site/app/config"
)

// printSummary tells the operator what runs and where: the site's URL
// first, then one line per role.
func (m *Main) printSummary() {
	cfg := m.Config
	var b strings.Builder
	if m.web != nil {
		fmt.Fprintf(&b, "site is up at %s\n", cfg.SiteURL(m.web.Addr()))
	} else {
		fmt.Fprintf(&b, "site is up (roles: %s)\n", strings.Join(cfg.Roles, ", "))
	}
	line := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "  %-8s "+format+"\n", append([]any{name}, args...)...)
	}
	line("roles", "%s", strings.Join(cfg.Roles, ", "))
	if m.web != nil {
		line("web", "http://%s  (the site; /healthz /readyz)", config.Reachable(m.web.Addr()))
	}
	if srv := m.store.server(); srv != nil {
		line("objects", "%s  (S3 API; buckets %s; data in %s)", srv.Endpoint(), strings.Join(srv.Buckets, ", "), srv.Root)
	} else if m.store != nil {
		line("objects", "using %s", m.store.Endpoint)
	}
	if m.natsd != nil {
		if u := m.natsd.URL(); u != "" {
			line("nats", "%s  (token auth; JetStream in %s)", u, m.natsd.StoreDir)
		} else {
			line("nats", "in-process only  (JetStream in %s)", m.natsd.StoreDir)
		}
	} else if m.nc != nil {
		line("nats", "using %s", cfg.NATS.URL)
	}
	if cfg.Has(config.RoleWorker) {
		line("worker", "consuming JOBS, %d at once", cfg.Worker.Concurrency)
	}
	if m.replica != nil {
		line("cron", "Litestream: data.db -> s3://%s/%s every %s", cfg.Replica.Bucket, cfg.Replica.Path, cfg.Replica.SyncInterval)
	}
	if m.ops != nil {
		line("ops", "http://%s  (/healthz /readyz /metrics)", config.Reachable(m.opsAddr))
	}
	if m.setupLink != "" {
		line("setup", "%s  (no admin yet: open within an hour, sign in, become the admin)", m.setupLink)
	}
	line("data", "%s", cfg.DataDir)
	line("config", "%s", cfg.Source)
	fmt.Fprint(m.stdout, b.String())
}
