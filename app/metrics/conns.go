package metrics

import "github.com/prometheus/client_golang/prometheus"

// ConnsRefused counts connections the web role closed at once because
// their address already held web.max_conns_per_ip.
var ConnsRefused = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "site_web_conns_refused_total", Help: "Connections closed on accept: their address already held as many as web.max_conns_per_ip allows.",
})

func init() { Registry.MustRegister(ConnsRefused) }
