package admin

import (
	"testing"
	"time"
)

// TestVmRSS reads the resident size from a /proc/PID/status text, and
// refuses one without it or in another unit.
func TestVmRSS(t *testing.T) {
	got, err := vmRSS([]byte("Name:\tsite\nVmPeak:\t  900000 kB\nVmRSS:\t   51234 kB\nThreads:\t12\n"))
	if err != nil || got != 51234*1024 {
		t.Errorf("vmRSS = %d, %v; want %d", got, err, 51234*1024)
	}
	for _, bad := range []string{"Name:\tsite\n", "VmRSS:\t51234 MB\n", "VmRSS:\tmany kB\n"} {
		if n, err := vmRSS([]byte(bad)); err == nil {
			t.Errorf("vmRSS(%q) = %d, want an error", bad, n)
		}
	}
	if n, err := residentBytes(); err != nil || n == 0 {
		t.Errorf("this process's resident size: %d, %v", n, err)
	}
}

// TestCPUPercent: CPU time over wall time, in percent of one core, to a
// tenth; more than 100 on several cores; unknown without wall time.
func TestCPUPercent(t *testing.T) {
	at := time.Date(2026, 6, 2, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		used, wall time.Duration
		want       float64
	}{{750 * time.Millisecond, 3 * time.Second, 25}, {5 * time.Second, 2 * time.Second, 250}, {1 * time.Millisecond, 3 * time.Second, 0}, {time.Second, 0, -1}} {
		got := cpuPercent(cpuReading{used: time.Second, at: at}, cpuReading{used: time.Second + c.used, at: at.Add(c.wall)})
		if got != c.want {
			t.Errorf("%s of CPU in %s = %v %%, want %v", c.used, c.wall, got, c.want)
		}
	}
}
