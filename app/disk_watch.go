package main

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"site/app/backup"
	"site/app/metrics"
)

// diskWatchInterval is how often the data directory's free space is read.
var diskWatchInterval = 10 * time.Second

// diskLowBytes is the free space under which the data directory's disk is
// "nearly full": 5% of the filesystem, at most 256 MiB.
func diskLowBytes(size int64) int64 { return min(256<<20, size/20) }

// watchDisk reports the data directory's free space in /metrics and raises
// an alert once each time it falls under diskLowBytes: before writes start
// failing (data.db, the job queue and the object store all live there). A
// full disk loses nothing already stored: writes fail, jobs wait
// (jobs.Consumer.Outage) and NATS reloads its streams once space is back;
// the alert, queued in this process, goes out when it can.
func (m *Main) watchDisk(ctx context.Context, alert func(context.Context, string)) {
	low := false
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(m.Config.DataDir, &st); err != nil {
			m.Logger.Warn("data dir free space", "err", err)
		} else {
			free, size := int64(st.Bavail)*int64(st.Bsize), int64(st.Blocks)*int64(st.Bsize)
			metrics.DiskFreeBytes.Set(float64(free))
			switch limit := diskLowBytes(size); {
			case free < limit && !low:
				low = true
				msg := fmt.Sprintf("the data directory's disk is nearly full: %s free of %s (%s); writes fail once it is full, and resume when space is freed",
					backup.HumanBytes(free), backup.HumanBytes(size), m.Config.DataDir)
				m.Logger.Error(msg)
				if alert != nil {
					alert(ctx, msg)
				}
			case free >= 2*limit && low:
				low = false
				m.Logger.Info("the data directory's disk has space again", "free_bytes", free)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(diskWatchInterval):
		}
	}
}
