package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"site/app/metrics"
)

// Check is one dependency /readyz asks about.
type Check struct {
	// Name names the dependency, e.g. "data.db" or "nats".
	Name string
	// Func returns nil when the dependency answers.
	Func func(ctx context.Context) error
}

// Ops serves /healthz (the process is up), /readyz (its dependencies
// answer) and /metrics (Prometheus) on the ops listener, and the first two
// on the site's own listener (Public).
type Ops struct {
	// Checks decide /readyz.
	Checks []Check
	// Public is the site's own listener, which anyone can reach: /readyz
	// answers "failing" for a failing check without the reason (which is
	// logged), since error text can name hosts, paths and buckets, and
	// there is no /metrics (a 404), since the series name routes, jobs and
	// the backups' state. The ops listener, not public, serves all three
	// and shows the reasons.
	Public bool
	// Logger receives the reasons hidden from a public /readyz.
	Logger *slog.Logger
}

// Routes are /healthz and /readyz, and /metrics unless Public.
func (o *Ops) Routes() []Route {
	routes := []Route{
		{"GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		})},
		{"GET /readyz", http.HandlerFunc(o.ready)},
	}
	if o.Public {
		return routes
	}
	return append(routes, Route{"GET /metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{})})
}

// Handler returns a mux with only the endpoints of Routes: the ops
// listener's, in every process that sets ops.listen.
func (o *Ops) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range o.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	return mux
}

func (o *Ops) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{}
	code := http.StatusOK
	for _, c := range o.Checks {
		if err := c.Func(ctx); err != nil {
			status[c.Name] = err.Error()
			code = http.StatusServiceUnavailable
			if o.Public {
				status[c.Name] = "failing"
				if o.Logger != nil {
					o.Logger.WarnContext(ctx, "readiness check failing", "check", c.Name, "err", err)
				}
			}
		} else {
			status[c.Name] = "ok"
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(status)
}
