package main

import (
	"encoding/json"

	"site/app/analytics"
	"site/app/config"
	"site/app/jobs"
	"site/app/media"
)

// Subjects of the worker's events (core NATS, fire and forget).
const (
	subjectViews       = "events.metrics.views"
	subjectImagesReady = "events.images.ready"
)

// workerHandlers builds the handlers of the worker role from the settings
// and registers the per-job ones on c; it returns the page-view recorder
// (a batch handler) and a func that releases what they hold.
func (m *Main) workerHandlers(c *jobs.Consumer) (*analytics.Recorder, func(), error) {
	cfg := m.Config
	log := m.Logger.With("role", config.RoleWorker)
	geo, err := analytics.OpenGeo(cfg.Analytics.GeoIPDB)
	if err != nil {
		return nil, nil, err
	}
	trusted, err := analytics.ParseTrustedProxies(cfg.Analytics.TrustedProxies)
	if err != nil {
		return nil, nil, err
	}
	rec := &analytics.Recorder{
		DB: m.data.Write, Geo: geo, Site: cfg.Site.Name, RespectDNT: cfg.Analytics.RespectDNT,
		TrustedProxies: trusted, Logger: log,
		OnCommit: func(s analytics.Summary) {
			if data, err := json.Marshal(s); err == nil {
				_ = m.nc.Publish(subjectViews, data)
			}
		},
	}
	c.Handlers["pageview"] = rec.Handle
	img := &media.Processor{
		S3: m.s3, PublicBucket: config.BucketPublic, DB: m.data.Write, Logger: log,
		Options: media.Options{MaxPixels: cfg.Images.MaxPixels, MaxBytes: cfg.Images.MaxBytes},
		OnReady: func(r media.Ready) {
			if data, err := json.Marshal(r); err == nil {
				_ = m.nc.Publish(subjectImagesReady, data)
			}
		},
	}
	c.Handlers["image"] = img.Handle
	return rec, func() { _ = geo.Close() }, nil
}
