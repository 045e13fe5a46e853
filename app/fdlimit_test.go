package main_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openStream opens an SSE stream of path on site from the loopback address
// local and returns the connection with its status line read, or the
// status of a refusal.
func openStream(t *testing.T, site, path, local string) (net.Conn, int) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	host := strings.TrimPrefix(site, "http://")
	c, err := d.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, host)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		t.Fatalf("open stream from %s: %v", local, err)
	}
	_ = c.SetReadDeadline(time.Time{})
	if resp.StatusCode != 200 {
		c.Close()
		return nil, resp.StatusCode
	}
	return c, 200
}

// TestIdleStreamsAtTheFileLimit: a web process whose open-file limit is
// low (400, set by prlimit) admits live streams up to what that leaves
// room for, answers 503 to the next, and keeps serving pages meanwhile.
func TestIdleStreamsAtTheFileLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("file limit: skipped in -short")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errs := runSite(t, nil, "import", "importer/testdata/hugo", "--data-dir", dir, "--objects.listen", "127.0.0.1:0"); code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed: cannot start a process with a low open-file limit")
	}
	p := StartProcUnder(t, []string{prlimit, "--nofile=400:400", "--"}, nil,
		"serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0")
	site := p.Addrs["web"]
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	refused := 0
	for i := 0; i < 200 && refused == 0; i++ {
		c, code := openStream(t, site, "/live/posts/hello-world", fmt.Sprintf("127.0.0.%d", 2+i/20))
		switch code {
		case 200:
			open = append(open, c)
		case 503:
			refused++
		default:
			t.Fatalf("stream %d: status %d", i+1, code)
		}
	}
	if refused == 0 || len(open) < 10 {
		t.Fatalf("%d streams open, %d refused; want streams up to the process's room, then 503", len(open), refused)
	}
	for range 20 {
		if code, _ := get(t, site+"/posts/hello-world/"); code != 200 {
			t.Fatalf("GET a page with every stream slot taken = %d", code)
		}
	}
	t.Logf("open-file limit 400: %d idle streams admitted, the next answered 503; pages served meanwhile", len(open))
}
