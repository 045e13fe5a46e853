package benchdoc

import (
	"os"
	"runtime"
	"strings"
)

// CPUModel names the machine's processor as /proc/cpuinfo does, or the
// architecture where it cannot be read, for a benchmark's heading.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return runtime.GOARCH
}

// LoadAverage is the machine's one-minute load average as /proc says, or
// "unknown": a shared machine's figures are read with it.
func LoadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
