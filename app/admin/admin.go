// Package admin is the admin panel at /admin: the owner writes and
// publishes, uploads images, watches jobs and backups, and reads the audit
// log. It is one route group on the web shell, and every route it has is
// behind auth's RequireAdmin, applied once in Routes.
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/minio/minio-go/v7"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/auth"
	"site/app/content"
	"site/app/jobs"
	"site/app/live"
	"site/app/store"
	"site/app/web"
	"site/views"
)

// Admin is the admin panel's route group and what its pages need.
type Admin struct {
	// Shell renders pages and error pages.
	Shell *web.Server
	// Auth guards every route and names the user acting.
	Auth *auth.Web
	// Content is the site's writing.
	Content *content.Store
	// Data is data.db (audit log, jobs and backup records).
	Data *store.DB
	// Objects is the object store; PrivateBucket holds originals (uploads)
	// and exports.
	Objects       *minio.Client
	PrivateBucket string
	// MaxUploadBytes bounds one uploaded file (images.max_bytes);
	// MaxPixels the pixels its header may claim (images.max_pixels; zero
	// means UploadMaxPixels).
	MaxUploadBytes int64
	MaxPixels      int
	// Publish hands a job (jobs.image after an upload) to the worker and
	// returns once the stream stored it.
	Publish func(ctx context.Context, j jobs.Job) error
	// NC and JS are the process's NATS connection and JetStream: the jobs
	// page reads streams and dead letters; backups ask the cron role to
	// run now by request/reply (cron may be another process).
	NC *nats.Conn
	JS jetstream.JetStream
	// Live serves the dashboard's stream (GET /admin/live) and counts the
	// readers of posts; nil leaves the dashboard without live updates.
	Live *live.Hub
	// Logger receives the panel's errors.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	status statusState // the dashboard's last status (status.go)
}

func (a *Admin) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Routes are the panel's routes, each behind RequireAdmin: a route added
// to any area below is guarded without anyone remembering to.
func (a *Admin) Routes() []web.Route {
	var routes []web.Route
	// Each area of the panel lists its routes in its own file.
	areas := [][]web.Route{
		a.dashboardRoutes(),
		a.analyticsRoutes(),
		a.auditRoutes(),
		a.postRoutes(),
		a.commentRoutes(),
		a.mediaRoutes(),
		a.jobsRoutes(),
		a.backupsRoutes(),
		a.exportRoutes(),
	}
	for _, area := range areas {
		routes = append(routes, area...)
	}
	for i := range routes {
		routes[i].Handler = a.Auth.RequireAdmin(a.withHeldCount(routes[i].Handler))
	}
	return routes
}

// Sections of the panel, for its menu.
const (
	SectionDashboard = "dashboard"
	SectionAudit     = "audit"
)

// page sends a panel page: the admin layout around body, never cached.
func (a *Admin) page(w http.ResponseWriter, r *http.Request, code int, title, section string, body templ.Component) {
	p := a.Shell.PageMeta(r, title)
	u, _ := auth.UserOf(r)
	a.Shell.SendHTML(w, r, code, views.AdminPage(p, views.AdminNav{Section: section, Address: u.Address}, body))
}

// Audit records an admin action: who (the request's user), what (action,
// e.g. "post.publish"), on what (target), with detail, from where.
func (a *Admin) Audit(r *http.Request, action, target, detail string) error {
	u, _ := auth.UserOf(r)
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	if _, err := a.Data.Write.ExecContext(r.Context(), `INSERT INTO audit_log (at, user_id, address, action, target, detail, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.now().Unix(), u.ID, u.Address, action, clip(target, 500), clip(detail, 2000), ip); err != nil {
		return fmt.Errorf("admin: audit %s: %w", action, err)
	}
	return nil
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// AuditEntry is one line of the audit log.
type AuditEntry = views.AuditEntry

// auditLog reads the newest entries, before the id before (0: the newest).
func (a *Admin) auditLog(ctx context.Context, before int64, limit int) ([]AuditEntry, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := a.Data.Read.QueryContext(ctx, `SELECT id, at, address, action, target, detail, ip FROM audit_log
		WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("admin: read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Address, &e.Action, &e.Target, &e.Detail, &e.IP); err != nil {
			return nil, fmt.Errorf("admin: read audit log: %w", err)
		}
		e.At = time.Unix(at, 0)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (a *Admin) serverError(w http.ResponseWriter, r *http.Request, err error) {
	a.Shell.ServerError(w, r, err)
}
