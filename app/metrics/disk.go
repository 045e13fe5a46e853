package metrics

import "github.com/prometheus/client_golang/prometheus"

// DiskFreeBytes is the free space of the data directory's filesystem as
// this process last saw it.
var DiskFreeBytes = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "site_data_disk_free_bytes", Help: "Free space on the data directory's filesystem.",
})

func init() { Registry.MustRegister(DiskFreeBytes) }
