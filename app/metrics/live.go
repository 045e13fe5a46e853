package metrics

import "github.com/prometheus/client_golang/prometheus"

var (
	// LiveStreams is how many SSE streams are open in the process.
	LiveStreams = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "site_live_streams", Help: "Open live (SSE) streams in this process.",
	})
	// LiveRefused counts streams refused at admission, by reason (per_ip,
	// full).
	LiveRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "site_live_refused_total", Help: "Live streams refused: per_ip (429, one address holds too many) or full (503, the process holds as many as it can).",
	}, []string{"reason"})
	// LiveCut counts streams ended by the hub, by reason (slow, dead,
	// shutdown).
	LiveCut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "site_live_cut_total", Help: "Live streams ended: slow (client did not keep up), dead (client went away), shutdown.",
	}, []string{"reason"})
)

func init() { Registry.MustRegister(LiveStreams, LiveRefused, LiveCut) }
