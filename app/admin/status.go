package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"time"

	"site/app/jobs"
	"site/app/live"
	"site/views"
)

// TopicStatus is the live topic on which RunStatus publishes the
// dashboard's status (an event named "status" whose data is a
// views.DashboardStatus).
const TopicStatus = "status"

// StatusEvery is how often RunStatus measures the status.
const StatusEvery = 3 * time.Second

// statusState is the last status measured, for the dashboard's page and
// the first event of its stream, and the CPU reading the next one counts
// from.
type statusState struct {
	mu   sync.Mutex
	last views.DashboardStatus
	data []byte // last as JSON; nil before the first measure
	cpu  cpuReading
}

// cpuReading is the process's CPU time at a moment.
type cpuReading struct {
	used time.Duration
	at   time.Time
}

// processStart stands in for the first CPU reading: the first status
// counts the CPU time since the process (nearly) began.
var processStart = time.Now()

// RunStatus measures the status every StatusEvery and publishes it on
// the live hub's TopicStatus until ctx ends: one goroutine per web process,
// whatever the number of dashboards open.
func (a *Admin) RunStatus(ctx context.Context) {
	t := time.NewTicker(StatusEvery)
	defer t.Stop()
	for {
		a.publishStatus(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publishStatus measures the status, keeps it and publishes it.
func (a *Admin) publishStatus(ctx context.Context) {
	data := a.keepStatus(a.measureStatus(ctx))
	if a.Live != nil {
		a.Live.Publish(TopicStatus, live.Event{Name: TopicStatus, Data: data})
	}
}

// keepStatus remembers st as the last status and returns it as JSON.
func (a *Admin) keepStatus(st views.DashboardStatus) []byte {
	data, err := json.Marshal(st)
	if err != nil { // not for these types
		panic(fmt.Sprintf("admin: status as JSON: %v", err))
	}
	a.status.mu.Lock()
	defer a.status.mu.Unlock()
	a.status.last, a.status.data = st, data
	return data
}

// currentStatus is the last status measured when it is recent, else a
// new measure.
func (a *Admin) currentStatus(ctx context.Context) views.DashboardStatus {
	a.status.mu.Lock()
	last, ok := a.status.last, a.status.data != nil
	a.status.mu.Unlock()
	if ok && a.now().Sub(last.At) < 2*StatusEvery {
		return last
	}
	st := a.measureStatus(ctx)
	a.keepStatus(st)
	return st
}

// lastStatusEvent is the last status as the stream's first event, if
// there is one.
func (a *Admin) lastStatusEvent() (live.Event, bool) {
	a.status.mu.Lock()
	defer a.status.mu.Unlock()
	return live.Event{Name: TopicStatus, Data: a.status.data}, a.status.data != nil
}

// measureStatus reads the queue, the backups and this process now.
func (a *Admin) measureStatus(ctx context.Context) views.DashboardStatus {
	now := a.now()
	return views.DashboardStatus{
		At:      now,
		Queue:   a.queueStatus(ctx),
		Backups: a.backupsStatus(ctx, now),
		Process: a.processStatus(),
	}
}

// queueStatus is the work queue as the jobs page reads it.
func (a *Admin) queueStatus(ctx context.Context) views.DashboardQueue {
	if a.JS == nil {
		return views.DashboardQueue{Problem: "This process has no connection to NATS, so the work queue cannot be read."}
	}
	ctx, cancel := context.WithTimeout(ctx, natsWait)
	defer cancel()
	q, err := jobs.Queue(ctx, a.JS)
	if err != nil {
		return views.DashboardQueue{Problem: "The work queue could not be read: " + err.Error()}
	}
	return views.DashboardQueue{Jobs: q.Total, Waiting: q.NotDelivered, InHand: q.InHand, Dead: q.Dead}
}

// backupsStatus sums up what the backups page shows: each task's last
// run and the replica's lag.
func (a *Admin) backupsStatus(ctx context.Context, now time.Time) views.DashboardBackups {
	d, err := a.readBackups(ctx, now)
	if err != nil {
		return views.DashboardBackups{Note: "Backups could not be read: " + err.Error()}
	}
	b := views.DashboardBackups{CronAnswered: d.CronAnswered}
	if !d.CronAnswered {
		b.Note = "No cron role answered: replication and backups are not running, or this process cannot reach them. The runs below are what data.db recorded."
	}
	for _, t := range d.Tasks {
		b.Tasks = append(b.Tasks, views.DashboardBackupTask{Label: t.Label, Status: t.Status, Finished: t.Finished})
	}
	if p := d.Position; p != nil {
		b.Replica = &views.DashboardReplica{Lag: p.Lag, LastSync: p.LastSync}
	}
	return b
}

// processStatus measures this process: CPU since the last measure,
// memory, goroutines and open streams.
func (a *Admin) processStatus() views.DashboardProcess {
	p := views.DashboardProcess{CPU: -1, Goroutines: runtime.NumGoroutine()}
	if used, err := cpuTime(); err == nil {
		now := time.Now()
		a.status.mu.Lock()
		prev := a.status.cpu
		if prev.at.IsZero() {
			prev.at = processStart
		}
		a.status.cpu = cpuReading{used: used, at: now}
		a.status.mu.Unlock()
		p.CPU = cpuPercent(prev, cpuReading{used: used, at: now})
	}
	p.RSS, _ = residentBytes()
	p.Heap = heapBytes()
	if a.Live != nil {
		p.Streams = a.Live.Streams()
	}
	return p
}

// cpuPercent is the CPU time used between two readings in percent of the
// wall time between them (of one core), rounded to a tenth.
func cpuPercent(prev, cur cpuReading) float64 {
	wall := cur.at.Sub(prev.at)
	if wall <= 0 {
		return -1
	}
	pct := 100 * float64(cur.used-prev.used) / float64(wall)
	return float64(int64(pct*10+0.5)) / 10
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// residentBytes is the process's resident set size (VmRSS of
// /proc/self/status).
func residentBytes() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return vmRSS(b)
}

// vmRSS reads the VmRSS line of a /proc/PID/status file, in bytes.
func vmRSS(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseUint(string(fields[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS line %q: %w", sc.Text(), err)
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmRSS line")
}

// heapBytes is the memory of the Go heap's objects (live and not yet
// swept), without stopping the world.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
