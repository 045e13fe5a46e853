package main

import (
	"context"

	"site/app/analytics"
	"site/app/config"
	"site/app/content"
	"site/app/jobs"
	"site/app/metrics"
	"site/app/web"
)

// openWeb starts the web role: the page-view publisher, then the site's
// server, bound before its base URL is set and served after.
func (m *Main) openWeb() error {
	cfg := m.Config
	m.pub = jobs.NewPublisher(m.js)
	m.pub.Logger = m.Logger.With("role", config.RoleWeb)
	m.pub.Buffer = cfg.Analytics.Buffer
	m.pub.OnDrop = func(j jobs.Job) { metrics.JobsDropped.WithLabelValues(j.Kind()).Add(float64(max(1, j.Count))) }
	m.pub.OnPublish = func(j jobs.Job) { metrics.JobsPublished.WithLabelValues(j.Kind()).Add(float64(max(1, j.Count))) }
	m.pub.Open()
	srv := web.NewServer()
	srv.Listen = cfg.Web.Listen
	if cfg.Analytics.Enabled {
		m.views = &analytics.Batcher{Enqueue: m.pub.Enqueue}
		srv.Views = m.views
	}
	srv.Checks = m.checks()
	srv.Logger = m.Logger.With("role", config.RoleWeb)
	srv.SiteName, srv.Description, srv.Author, srv.Language = cfg.Site.Name, cfg.Site.Description, cfg.Site.Author, cfg.Site.Language
	srv.Content = content.NewStore(m.data)
	srv.Content.MediaBase = cfg.Objects.PublicURL
	srv.Objects, srv.MediaBucket = m.store.Client, config.BucketPrivate
	srv.SecurityTxt = cfg.Web.SecurityTxt
	if err := srv.Bind(); err != nil {
		return err
	}
	// Set before Open, while no request can read it; derived from the port
	// Bind took when base_url is not set.
	srv.BaseURL = cfg.SiteURL(srv.Addr())
	if err := srv.Open(); err != nil {
		return err
	}
	m.web = srv
	return nil
}

// closeWeb drains the site's HTTP requests, then publishes the page views
// still buffered, within ctx.
func (m *Main) closeWeb(ctx context.Context) error {
	var err error
	if m.web != nil {
		err = m.web.Close(ctx)
	}
	if m.views != nil {
		m.views.Close() // the last batch joins the publisher's buffer
	}
	if m.pub != nil {
		if left, perr := m.pub.Close(ctx); perr != nil {
			m.Logger.Warn("page views not published before shutdown", "count", left)
		}
	}
	return err
}
