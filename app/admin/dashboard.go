package admin

import (
	"net/http"
	"strconv"

	"site/app/web"
	"site/views"
)

// auditPage is how many audit entries one page lists.
const auditPage = 100

func (a *Admin) dashboardRoutes() []web.Route {
	return []web.Route{{Pattern: "GET /admin", Handler: http.HandlerFunc(a.dashboard)}}
}

func (a *Admin) auditRoutes() []web.Route {
	return []web.Route{{Pattern: "GET /admin/audit", Handler: http.HandlerFunc(a.audit)}}
}

func (a *Admin) dashboard(w http.ResponseWriter, r *http.Request) {
	var c views.DashboardCounts
	now := a.now().Unix()
	err := a.Data.Read.QueryRowContext(r.Context(), `SELECT
		count(*) FILTER (WHERE status != 'draft' AND published_at <= ?),
		count(*) FILTER (WHERE status = 'draft'),
		count(*) FILTER (WHERE status != 'draft' AND published_at > ?),
		(SELECT count(*) FROM images)
		FROM posts`, now, now).Scan(&c.Published, &c.Drafts, &c.Scheduled, &c.Images)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.page(w, r, http.StatusOK, "Dashboard", SectionDashboard, views.AdminDashboard(c))
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
