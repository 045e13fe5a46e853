package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"site/app/admin"
	"site/app/analytics"
	"site/app/auth"
	"site/app/comments"
	"site/app/config"
	"site/app/content"
	"site/app/jobs"
	"site/app/live"
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
	srv.Objects, srv.MediaBucket = m.store.Reader, config.BucketPrivate
	srv.SecurityTxt = cfg.Web.SecurityTxt
	trusted, err := analytics.ParseTrustedProxies(cfg.Analytics.TrustedProxies)
	if err != nil {
		return err
	}
	srv.TrustedProxies = trusted
	if err := srv.Bind(); err != nil {
		return err
	}
	// Set before Open, while no request can read it; derived from the port
	// Bind took when base_url is not set.
	srv.BaseURL = cfg.SiteURL(srv.Addr())
	if err := m.openLive(); err != nil {
		return err
	}
	if err := m.mountOwner(srv); err != nil {
		return err
	}
	srv.Groups = append(srv.Groups, &live.Posts{Hub: m.hub, Content: srv.Content})
	if err := srv.Open(); err != nil {
		return err
	}
	m.web = srv
	return nil
}

// mountOwner mounts the owner's half on the site: sign-in (auth) and the
// admin panel, and prints the first-start setup link while no one is
// admin.
func (m *Main) mountOwner(srv *web.Server) error {
	cfg := m.Config
	key, err := loadAuthKey(cfg.DataDir)
	if err != nil {
		return err
	}
	trusted, err := analytics.ParseTrustedProxies(cfg.Analytics.TrustedProxies)
	if err != nil {
		return err
	}
	publish := func(ctx context.Context, j jobs.Job) error { return jobs.Publish(ctx, m.js, j) }
	a := &auth.Auth{Data: m.data, TTL: m.ttl, Key: key, SiteName: cfg.Site.Name, SiteURL: srv.BaseURL,
		SessionIdle: cfg.Web.SessionIdle, SessionMax: cfg.Web.SessionMax,
		Send: func(ctx context.Context, n jobs.NotifyJob, dedupe string) error {
			j, err := jobs.NewNotifyJob(n, dedupe)
			if err != nil {
				return err
			}
			return publish(ctx, j)
		}}
	sign := &auth.Web{Auth: a, Shell: srv, Secure: strings.HasPrefix(srv.BaseURL, "https://"), TrustedProxies: trusted}
	panel := &admin.Admin{Shell: srv, Auth: sign, Content: srv.Content, Data: m.data, Logger: srv.Logger,
		Objects: m.store.Client, PrivateBucket: config.BucketPrivate, MaxUploadBytes: int64(cfg.Images.MaxBytes), MaxPixels: cfg.Images.MaxPixels,
		Publish: publish, NC: m.nc, JS: m.js, Live: m.hub}
	srv.Groups = append(srv.Groups, sign, panel)
	// One status sampler per web process feeds every dashboard open on it.
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); panel.RunStatus(sctx) }()
	m.stopStatus = func() { stop(); <-done }
	talk := &comments.Web{Store: comments.NewStore(m.data), Content: srv.Content, Auth: sign, Shell: srv, NC: m.nc, Logger: srv.Logger,
		Moderation: cfg.Comments.Moderation, CloseAfter: time.Duration(cfg.Comments.CloseAfterDays) * 24 * time.Hour}
	talk.Mount(srv) // readers' comments and the comments section of post pages
	// The signed links of the comment mails (moderation, unsubscribe).
	srv.Groups = append(srv.Groups, &comments.LinkPages{Signer: &comments.Signer{Key: key}, Shell: srv, Logger: srv.Logger,
		Moderator: &comments.Moderator{Store: comments.NewStore(m.data), NC: m.nc, Logger: srv.Logger}})
	srv.SignedIn = sign.SignedIn
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, err := a.SetupLink(ctx)
	if err != nil {
		return err
	}
	if link != "" {
		m.setupLink = link
		m.Logger.Warn("no admin yet: open the setup link within an hour, sign in, and become the admin (or run: site admin add ADDRESS)",
			"link", link)
	}
	return nil
}

// openLive starts the hub of live streams (SSE): the dashboard's and the
// post pages', capped per client address as the page views count it.
func (m *Main) openLive() error {
	cfg := m.Config
	trusted, err := analytics.ParseTrustedProxies(cfg.Analytics.TrustedProxies)
	if err != nil {
		return err
	}
	hub, err := live.New(live.Config{
		NC: m.nc, JS: m.js, Stream: jobs.StreamEvents,
		MaxStreams: cfg.Live.MaxStreams, MaxPerIP: cfg.Live.MaxPerIP,
		ClientIP: func(r *http.Request) string {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			if ip := analytics.ClientIP(host, r.Header.Get("X-Forwarded-For"), trusted); ip.IsValid() {
				return ip.String()
			}
			return host
		},
		Logger: m.Logger.With("role", config.RoleWeb, "part", "live"),
	})
	if err != nil {
		return fmt.Errorf("live streams: %w", err)
	}
	m.hub = hub
	return nil
}

// closeWeb closes the live streams (the server's shutdown does not close
// connections the hub took over), drains the site's HTTP requests, then
// publishes the page views still buffered, within ctx.
func (m *Main) closeWeb(ctx context.Context) error {
	var err error
	if m.stopStatus != nil {
		m.stopStatus()
	}
	if m.hub != nil {
		// Half of what is left at most, so the requests still get theirs.
		hctx, cancel := ctx, context.CancelFunc(func() {})
		if deadline, ok := ctx.Deadline(); ok {
			hctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/2)
		}
		if herr := m.hub.Close(hctx); herr != nil {
			m.Logger.Warn("live streams not all closed cleanly", "err", herr)
		}
		cancel()
	}
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
