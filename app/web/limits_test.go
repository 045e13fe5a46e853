package web_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"site/app/web"
	"site/internal/testkit"
)

// getFrom requests url over a connection from the loopback address local
// (127.0.0.x), and returns the status, or 0 when the connection was closed
// before an answer.
func getFrom(tb testing.TB, local, url string) int {
	tb.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestSlowlorisFromOneAddress: an address holding its share of
// connections open with headers that never end gets its next connections
// closed at once, while another address is served as usual; once it lets
// go, it is served again.
func TestSlowlorisFromOneAddress(t *testing.T) {
	s := openSite(t, func(s *web.Server) { s.MaxConnsPerIP = 20 })
	url := "http://" + s.Addr() + "/"
	var slow []net.Conn
	for range 60 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: example.org\r\nX-Slow: ")
	}
	// Of the 60, the 40 past the bound were closed on accept.
	closed := 0
	for _, c := range slow {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		// EOF, or a reset: the server closed it with the request unread.
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			closed++
		}
	}
	if closed != 40 {
		t.Errorf("%d of 60 slow connections closed at once, want the 40 past the bound of 20", closed)
	}
	if code := getFrom(t, "127.0.0.1", url); code != 0 {
		t.Errorf("a 21st connection from the slow address was answered %d, want closed", code)
	}
	if code := getFrom(t, "127.0.0.2", url); code != 200 {
		t.Errorf("GET / from another address while one holds its share = %d, want 200", code)
	}
	for _, c := range slow {
		c.Close()
	}
	testkit.WaitFor(t, 10*time.Second, "the slow address to be served again", func() bool {
		return getFrom(t, "127.0.0.1", url) == 200
	})
}

// TestSearchRateLimit: past its searches a minute a client gets 429 with
// Retry-After and a page saying why; another client, and the empty search
// form, are not held back.
func TestSearchRateLimit(t *testing.T) {
	s := openSite(t, func(s *web.Server) { s.SearchesPerMinute = 5 })
	base := "http://" + s.Addr()
	for i := range 5 {
		if code := getFrom(t, "127.0.0.1", base+"/search?q=hello"); code != 200 {
			t.Fatalf("search %d = %d", i+1, code)
		}
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/search?q=again", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "wait a minute") {
		t.Errorf("6th search = %d, Retry-After %q:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if code := getFrom(t, "127.0.0.1", base+"/search"); code != 200 {
		t.Errorf("the empty search form past the limit = %d, want 200", code)
	}
	if code := getFrom(t, "127.0.0.2", base+"/search?q=hello"); code != 200 {
		t.Errorf("a search from another address = %d, want 200", code)
	}
}
