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
// answer) and /metrics (Prometheus).
type Ops struct {
	// Checks decide /readyz.
	Checks []Check
	// Public hides why a check fails: /readyz on the site's own listener
	// answers "failing" for it (the reason is logged), since error text can
	// name hosts, paths and buckets. The ops listener, not public, shows it.
	Public bool
	// Logger receives the reasons hidden from a public /readyz.
	Logger *slog.Logger
}

// Routes are the three endpoints.
func (o *Ops) Routes() []Route {
	return []Route{
		{"GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		})},
		{"GET /readyz", http.HandlerFunc(o.ready)},
		{"GET /metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{})},
	}
}

// Handler returns a mux with only the three endpoints, for processes
// without the web role.
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
