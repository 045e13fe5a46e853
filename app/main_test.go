package main_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"site/internal/testkit"
)

// binary is the site program built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "site-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "site")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build site:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Proc is one running site process.
type Proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout strings.Builder
	stderr strings.Builder
	lines  chan string
	done   chan struct{}
	// Addrs maps a role line of the start-up summary (web, objects, nats,
	// ops) to the URL printed there.
	Addrs map[string]string
}

var summaryURL = regexp.MustCompile(`^\s+(\w+)\s+((?:http|nats)://\S+)`)

// StartProc runs `site` with args and waits for its start-up summary.
func StartProc(t testing.TB, env []string, args ...string) *Proc {
	t.Helper()
	return StartProcUnder(t, nil, env, args...)
}

// StartProcUnder is StartProc with `site` run by a wrapper command (e.g.
// prlimit with its options), which execs it.
func StartProcUnder(t testing.TB, wrapper, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, lines: make(chan string, 100), done: make(chan struct{}), Addrs: map[string]string{}}
	cmdline := append(append(wrapper[:len(wrapper):len(wrapper)], binary), args...)
	p.cmd = exec.Command(cmdline[0], cmdline[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.stderr.Write(b)
	})
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.Stdout(), p.Stderr())
		}
	})
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line := <-p.lines:
			if m := summaryURL.FindStringSubmatch(line); m != nil {
				p.Addrs[m[1]] = m[2]
			}
			if strings.HasPrefix(line, "  config ") {
				return p
			}
		case <-p.done:
			t.Fatalf("site %s exited before it was up:\n%s", strings.Join(args, " "), p.Stderr())
		case <-deadline:
			t.Fatalf("site %s not up after 60s:\n%s", strings.Join(args, " "), p.Stderr())
		}
	}
}

// Stdout is what the process printed so far.
func (p *Proc) Stdout() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stdout.String() }

// Stderr is what the process logged so far.
func (p *Proc) Stderr() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// Stop sends SIGTERM and returns the exit code and how long the stop took.
func (p *Proc) Stop() (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("no exit 30s after SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// get fetches url and returns the status code and body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// openDB opens a SQLite file read-only for assertions.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// count runs a count query, returning -1 while the table is missing.
func count(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return -1
		}
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// viewPages requests the home page of site n times and waits until db
// holds n more page views.
func viewPages(t testing.TB, site string, db *sql.DB, n int) {
	t.Helper()
	want := max(count(t, db, "SELECT count(*) FROM page_views"), 0) + n
	for range n {
		get(t, site+"/")
	}
	testkit.WaitFor(t, 15*time.Second, fmt.Sprintf("%d page views", want), func() bool {
		return count(t, db, "SELECT count(*) FROM page_views") == want
	})
}

// runSite runs a short command of site and returns its exit code and output.
func runSite(t testing.TB, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}
