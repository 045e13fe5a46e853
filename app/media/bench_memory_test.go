package media_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"site/app/benchdoc"
	"site/app/media"
)

// memoryRun is what a child of TestBenchImageMemory reports.
type memoryRun struct {
	// BaseKB is the child's resident size before processing, HWMKB its
	// high-water mark after (VmRSS and VmHWM of /proc/self/status).
	BaseKB, HWMKB int64
	// Footprint is one image's estimate; Peak the most bytes in flight.
	Footprint, Peak int64
	// Done is when each image was done, from the start, in order.
	Done []time.Duration
}

// memoryModes are the runs compared, in the order of the table; the
// summary under it takes them by index.
var memoryModes = []struct {
	name   string
	images int
	budget int64 // 0: none
}{
	{"one image", 1, media.DefaultBudget},
	{"four at once, no budget", 4, 0},
	{"four at once, default budget", 4, media.DefaultBudget},
}

// TestBenchImageMemory processes four 7,000×7,000 PNGs (one colour, 156 kB
// each) at once through media.ProcessContext, in a child process per run,
// without a budget and with the default one, and reports the child's peak
// RSS (getrusage's ru_maxrss); it writes the image-memory part of the
// "## Worker" section of docs/benchmarks.md. It runs only with
// SITE_BENCH=1 and never fails on the figures.
func TestBenchImageMemory(t *testing.T) {
	if os.Getenv("SITE_BENCH") == "" {
		t.Skip("benchmark: set SITE_BENCH=1")
	}
	const side, rounds = 7000, 5
	path := filepath.Join(t.TempDir(), "solid.png")
	data := solidPNG(t, side, side)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rss := make([][]int64, len(memoryModes)) // MiB, per mode, per round
	runs := make([]memoryRun, len(memoryModes))
	for round := range rounds {
		for i, m := range memoryModes {
			cmd := exec.Command(os.Args[0], "-test.run=^TestImageMemoryChild$")
			cmd.Env = append(os.Environ(), "SITE_MEDIA_MEMORY_CHILD="+path,
				fmt.Sprintf("SITE_MEDIA_MEMORY_IMAGES=%d", m.images), fmt.Sprintf("SITE_MEDIA_MEMORY_BUDGET=%d", m.budget))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", m.name, err, out)
			}
			run, err := parseMemoryRun(out)
			if err != nil {
				t.Fatalf("%s: %v\n%s", m.name, err, out)
			}
			maxrss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
			rss[i] = append(rss[i], maxrss>>10)
			runs[i] = run
			t.Logf("round %d, %s: peak RSS %d MiB (VmHWM %d MiB, from %d MiB), peak in flight %d MiB, done %v",
				round+1, m.name, maxrss>>10, run.HWMKB>>10, run.BaseKB>>10, run.Peak>>20, run.Done)
		}
	}
	var rows strings.Builder
	for i, m := range memoryModes {
		budget := "none"
		if m.budget > 0 {
			budget = fmt.Sprintf("%d MiB", m.budget>>20)
		}
		r := runs[i]
		fmt.Fprintf(&rows, "| %s | %s | **%d MiB** | %s | %d MiB | %s |\n", m.name, budget, medianInt(rss[i]),
			joinInts(rss[i]), r.Peak>>20, joinDurations(r.Done))
	}
	base := runs[0].BaseKB >> 10
	body := fmt.Sprintf(`### Image memory

Measured by `+"`SITE_BENCH=1 go test ./app/media -run TestBenchImageMemory`"+` on %s (%d cores), %s.

A %d×%d PNG of one colour (8-bit RGB, %d kB on disk, %d MiB decoded) processed through
media.ProcessContext (decode, RGBA copy, pyramid, variants), four at once as the worker does with its
default concurrency, in a child process per run (%d MiB resident before the first decode; GOGC
default, no memory limit). Peak RSS is the child's ru_maxrss, median of %d runs; "in flight" is
the most bytes held at once of the budget (one image's estimate from the header: %d MiB),
counted the same way without a bound; "done" is when each image finished, last run (times
vary with the load of the machine).

| run | budget | peak RSS | runs, MiB | in flight | done |
|---|---|---|---|---|---|
%s
**Four at once: %d MiB with the budget, %d MiB without** (one image alone: %d MiB). With the
budget they run one at a time (each one's estimate is over half of it); what the resident size
has above one image's is the garbage of the image before, which the collector frees only once
the heap has grown to about twice what was live at its last cycle. The last of the four was done
at %s with the budget and %s without.`,
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), side, side, len(data)/1024,
		side*side*4>>20, base, rounds, runs[0].Footprint>>20, rows.String(),
		medianInt(rss[2]), medianInt(rss[1]), medianInt(rss[0]), runs[2].Done[len(runs[2].Done)-1], runs[1].Done[len(runs[1].Done)-1])
	t.Log("\n" + body)
	if err := benchdoc.WriteBlock(filepath.Join("..", "..", "docs", "benchmarks.md"), "## Worker", "image-memory", body); err != nil {
		t.Fatal(err)
	}
}

// TestImageMemoryChild is a run of TestBenchImageMemory: it processes the
// PNG at SITE_MEDIA_MEMORY_CHILD SITE_MEDIA_MEMORY_IMAGES times at once
// with a budget of SITE_MEDIA_MEMORY_BUDGET bytes (0: none) and prints a
// memoryRun.
func TestImageMemoryChild(t *testing.T) {
	path := os.Getenv("SITE_MEDIA_MEMORY_CHILD")
	if path == "" {
		t.Skip("run by TestBenchImageMemory")
	}
	n, err1 := strconv.Atoi(os.Getenv("SITE_MEDIA_MEMORY_IMAGES"))
	size, err2 := strconv.ParseInt(os.Getenv("SITE_MEDIA_MEMORY_BUDGET"), 10, 64)
	data, err3 := os.ReadFile(path)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	run := memoryRun{BaseKB: procStatus(t, "VmRSS")}
	b := media.NewBudget(size)
	opt := media.Options{MaxPixels: 50_000_000, Budget: b}
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := media.ProcessContext(t.Context(), data, opt)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			run.Done = append(run.Done, time.Since(start).Round(100*time.Millisecond))
			run.Footprint = res.Footprint
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(run.Done)
	run.Peak, run.HWMKB = b.Peak(), procStatus(t, "VmHWM")
	out, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("memory-run %s\n", out)
}

func parseMemoryRun(out []byte) (memoryRun, error) {
	var run memoryRun
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "memory-run "); ok {
			return run, json.Unmarshal([]byte(rest), &run)
		}
	}
	return run, fmt.Errorf("no memory-run line")
}

// procStatus is a field of /proc/self/status in kB.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func medianInt(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func joinInts(xs []int64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(parts, ", ")
}

func joinDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return strings.Join(parts, ", ")
}
