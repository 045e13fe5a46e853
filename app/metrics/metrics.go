// Package metrics holds the Prometheus collectors of site, shared by roles.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry holds every collector of the process; /metrics serves it.
var Registry = prometheus.NewRegistry()

var (
	// HTTPRequests counts HTTP requests by route pattern, method and status code.
	HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "site_http_requests_total", Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	// HTTPDuration observes how long requests take, by route.
	HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "site_http_request_duration_seconds", Help: "HTTP request duration by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	// JobsPublished counts jobs accepted by the stream, by kind; a batch of
	// page views counts each view.
	JobsPublished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "site_jobs_published_total", Help: "Jobs accepted by the JOBS stream, by kind; page views count one each.",
	}, []string{"kind"})
	// JobsDropped counts jobs dropped because the publish buffer was full;
	// a batch of page views counts each view.
	JobsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "site_jobs_dropped_total", Help: "Jobs dropped on a full publish buffer (NATS unreachable too long), by kind; page views count one each.",
	}, []string{"kind"})
	// JobsDone counts handled jobs by kind and outcome (ok, retry, dead).
	JobsDone = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "site_jobs_done_total", Help: "Jobs handled by the worker, by kind and outcome.",
	}, []string{"kind", "outcome"})
	// JobDuration observes how long handlers take, by kind.
	JobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "site_job_duration_seconds", Help: "Job handler duration by kind.",
	}, []string{"kind"})
	// ReplicaCheckOK is 1 when the last check of the Litestream replica
	// passed, 0 when it failed; absent before the first check.
	ReplicaCheckOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "site_replica_check_ok", Help: "1 if the last restore check of the data.db replica passed, 0 if it failed.",
	})
	// ReplicaCheckTime is when the last check of the replica finished.
	ReplicaCheckTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "site_replica_check_timestamp_seconds", Help: "Unix time the last restore check of the data.db replica finished.",
	})
	// ReplicaChecks counts checks of the replica by result (ok, failed).
	ReplicaChecks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "site_replica_checks_total", Help: "Restore checks of the data.db replica, by result.",
	}, []string{"result"})
	// WALBytes is the size of data.db's WAL as this process last saw it.
	WALBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "site_data_wal_bytes", Help: "Size of data.db's WAL file; it grows while the cron role (Litestream) is away.",
	})
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		HTTPRequests, HTTPDuration, JobsPublished, JobsDropped, JobsDone, JobDuration,
		ReplicaCheckOK, ReplicaCheckTime, ReplicaChecks, WALBytes,
	)
}
