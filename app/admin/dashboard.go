package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"site/app/auth"
	"site/app/events"
	"site/app/jobs"
	"site/app/live"
	"site/app/web"
	"site/views"
)

// auditPage is how many audit entries one page lists.
const auditPage = 100

// The dashboard's stream: what it follows and how far back a new one
// starts (the per-minute chart's span; the EVENTS stream keeps no more).
const (
	dashboardStream = "/admin/live"
	dashboardSince  = 15 * time.Minute
	// dashboardTop is how many pages and alerts the dashboard lists.
	dashboardTop = 10
)

func (a *Admin) dashboardRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET /admin", Handler: http.HandlerFunc(a.dashboard)},
		{Pattern: "GET " + dashboardStream, Handler: http.HandlerFunc(a.dashboardLive)},
	}
}

func (a *Admin) auditRoutes() []web.Route {
	return []web.Route{{Pattern: "GET /admin/audit", Handler: http.HandlerFunc(a.audit)}}
}

// dashboard renders the dashboard with the figures of now; its script
// (admin-dashboard.js) keeps them current from the stream.
func (a *Admin) dashboard(w http.ResponseWriter, r *http.Request) {
	d, err := a.dashboardData(r.Context())
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	p := a.Shell.PageMeta(r, "Dashboard")
	if d.Stream != "" {
		p.Scripts = append(p.Scripts, "admin-dashboard.js")
	}
	u, _ := auth.UserOf(r)
	a.Shell.SendHTML(w, r, http.StatusOK, views.AdminPage(p, views.AdminNav{Section: SectionDashboard, Address: u.Address}, views.AdminDashboard(d)))
}

// dashboardLive is the dashboard's stream: the stored events of page
// views, alerts and comments (from 15 minutes back for a new stream, from
// Last-Event-ID for a reconnecting one), the reader counts and the
// status, which it starts with.
func (a *Admin) dashboardLive(w http.ResponseWriter, r *http.Request) {
	if a.Live == nil {
		http.Error(w, "Live updates are off in this process.", http.StatusServiceUnavailable)
		return
	}
	a.Live.Serve(w, r, live.Spec{
		Subjects: []string{events.AllMetrics, events.AllAlerts, events.AllComments},
		Since:    dashboardSince,
		Topics:   []string{live.TopicReaders, TopicStatus},
		Hello:    a.dashboardHello,
	})
}

// dashboardHello is the state a dashboard stream starts with: the last
// status and the readers now.
func (a *Admin) dashboardHello() []live.Event {
	var out []live.Event
	if e, ok := a.lastStatusEvent(); ok {
		out = append(out, e)
	}
	readers, _ := json.Marshal(map[string]int{"total": a.Live.ReadersTotal()})
	return append(out, live.Event{Name: live.TopicReaders, Data: readers})
}

// dashboardData reads the dashboard's figures.
func (a *Admin) dashboardData(ctx context.Context) (views.AdminDashboardData, error) {
	now := a.now()
	d := views.AdminDashboardData{Day: now.UTC().Format(time.DateOnly)}
	if a.Live != nil {
		d.Stream, d.ReadersNow = dashboardStream, a.Live.ReadersTotal()
	} else {
		d.Off = "Live updates are off in this process: the figures are those of the moment the page was loaded."
	}
	// The stream's position first: an alert stored after it may be listed
	// twice (from the table and live) but none is missed.
	if a.JS != nil && d.Stream != "" {
		sctx, cancel := context.WithTimeout(ctx, natsWait)
		st, err := a.JS.Stream(sctx, jobs.StreamEvents)
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = st.Info(sctx); err == nil {
				d.Seq = info.State.LastSeq
			}
		}
		cancel()
		if err != nil {
			a.Logger.Warn("admin: dashboard: the events stream", "err", err)
		}
	}
	unix := now.Unix()
	err := a.Data.Read.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE status != 'draft' AND published_at <= ?),
		count(*) FILTER (WHERE status = 'draft'),
		count(*) FILTER (WHERE status != 'draft' AND published_at > ?),
		(SELECT count(*) FROM images)
		FROM posts`, unix, unix).Scan(&d.Counts.Published, &d.Counts.Drafts, &d.Counts.Scheduled, &d.Counts.Images)
	if err != nil {
		return d, fmt.Errorf("admin: dashboard counts: %w", err)
	}
	if d.ViewsToday, d.VisitorsToday, d.Mark, err = a.viewsToday(ctx, d.Day); err != nil {
		return d, err
	}
	hour := unix - unix%3600
	d.Since = time.Unix(hour-3600, 0)
	if d.TopHour, err = a.topPagesSince(ctx, hour-3600); err != nil {
		return d, err
	}
	if d.Alerts, err = a.recentAlerts(ctx); err != nil {
		return d, err
	}
	d.Status = a.currentStatus(ctx)
	return d, nil
}

// viewsToday reads day's page views and visitors from the rollups, and in
// the same transaction the mark of the page-view log they count up to
// (events.Views.Mark): the page adds the events of later marks only.
func (a *Admin) viewsToday(ctx context.Context, day string) (views, visitors int, mark int64, err error) {
	tx, err := a.Data.Read.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("admin: dashboard views: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM page_view_batches`).Scan(&mark); err != nil {
		return 0, 0, 0, fmt.Errorf("admin: dashboard views: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(views), 0), coalesce(sum(visitors), 0) FROM views_daily WHERE day = ?`,
		day).Scan(&views, &visitors); err != nil {
		return 0, 0, 0, fmt.Errorf("admin: dashboard views: %w", err)
	}
	return views, visitors, mark, nil
}

// topPagesSince is the most viewed pages of the hours from since on
// (views_hourly).
func (a *Admin) topPagesSince(ctx context.Context, since int64) ([]views.PathViews, error) {
	rows, err := a.Data.Read.QueryContext(ctx, `SELECT path, sum(views) AS n FROM views_hourly WHERE hour >= ?
		GROUP BY path ORDER BY n DESC, path LIMIT ?`, since, dashboardTop)
	if err != nil {
		return nil, fmt.Errorf("admin: dashboard top pages: %w", err)
	}
	defer rows.Close()
	var out []views.PathViews
	for rows.Next() {
		var p views.PathViews
		if err := rows.Scan(&p.Path, &p.Views); err != nil {
			return nil, fmt.Errorf("admin: dashboard top pages: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// recentAlerts is the alert groups last seen most recently.
func (a *Admin) recentAlerts(ctx context.Context) ([]views.DashboardAlert, error) {
	rows, err := a.Data.Read.QueryContext(ctx, `SELECT source, level, message, count, first_at, last_at FROM alerts
		ORDER BY last_at DESC, id DESC LIMIT ?`, dashboardTop)
	if err != nil {
		return nil, fmt.Errorf("admin: dashboard alerts: %w", err)
	}
	defer rows.Close()
	var out []views.DashboardAlert
	for rows.Next() {
		var al views.DashboardAlert
		var first, last int64
		if err := rows.Scan(&al.Source, &al.Level, &al.Message, &al.Count, &first, &last); err != nil {
			return nil, fmt.Errorf("admin: dashboard alerts: %w", err)
		}
		al.First, al.Last = time.Unix(first, 0), time.Unix(last, 0)
		out = append(out, al)
	}
	return out, rows.Err()
}

func (a *Admin) audit(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	entries, err := a.auditLog(r.Context(), before, auditPage)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	more := ""
	if len(entries) == auditPage {
		more = "/admin/audit?before=" + strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	a.page(w, r, http.StatusOK, "Audit log", SectionAudit, views.AdminAudit(entries, more))
}
