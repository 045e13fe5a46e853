package web_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"site/app/metrics"
	"site/app/web"
)

// testSecurityTxt is the security.txt the hostile tests configure.
const testSecurityTxt = "Contact: mailto:security@example.org\nExpires: 2030-01-01T00:00:00Z\n"

// openSite is newSite served by its own Open (the real http.Server, with
// its timeouts and listener), closed at the end of the test.
func openSite(tb testing.TB, configure ...func(*web.Server)) *web.Server {
	tb.Helper()
	s := newSite(tb, append(configure, func(s *web.Server) { s.Listen = "127.0.0.1:0" })...)
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// raw sends request as written, byte for byte (no client cleans its path),
// and reads one response.
func raw(tb testing.TB, addr, method, target string) (*http.Response, string) {
	tb.Helper()
	return rawWith(tb, addr, method, target, "")
}

// rawWith is raw with extra header lines ("Name: value\r\n" each).
func rawWith(tb testing.TB, addr, method, target, headers string) (*http.Response, string) {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, method+" "+target+" HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\nContent-Length: 0\r\n"+headers+"\r\n"); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		tb.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: body: %v", method, target, err)
	}
	return resp, string(body)
}

// TestHostileRequests sends odd methods and paths to the real server and
// checks each answer: security.txt only to GET and HEAD at its exact path,
// nothing outside it reachable through it.
func TestHostileRequests(t *testing.T) {
	s := openSite(t, func(s *web.Server) { s.SecurityTxt = testSecurityTxt })
	cases := []struct {
		method, target string
		code           int
		body           string // the exact body; "-" for any but the security.txt
		location       string
	}{
		{"GET", "/.well-known/security.txt", 200, testSecurityTxt, ""},
		{"HEAD", "/.well-known/security.txt", 200, "", ""},
		{"POST", "/.well-known/security.txt", 405, "-", ""},
		{"PUT", "/.well-known/security.txt", 405, "-", ""},
		{"DELETE", "/.well-known/security.txt", 405, "-", ""},
		{"GET", "/.well-known/security.txt/extra", 404, "-", ""},
		{"GET", "/.well-known/security.txt.bak", 404, "-", ""},
		{"GET", "/.well-known/", 301, "-", "/.well-known"},
		{"GET", "/.well-known", 404, "-", ""},
		{"GET", "/.well-known/../secrets.json", 307, "-", "/secrets.json"}, // the mux cleans the path
		{"GET", "/.well-known/%2e%2e/secrets.json", 404, "-", ""},
		{"GET", "/.well-known/..%2fsecrets.json", 404, "-", ""},
		{"GET", "/secrets.json", 404, "-", ""},
		{"GET", "/media/../secrets.json", 307, "-", "/secrets.json"},
		{"POST", "/", 405, "-", ""},
		// The trailing-slash redirect stays on the site: a backslash or a
		// tab would make the browser's Location another host.
		{"GET", "/%5Cevil.com/", 404, "-", ""},
		{"GET", "/%09/evil.com/", 404, "-", ""},
		{"GET", "/%0a/evil.com/", 404, "-", ""},
		{"GET", "/%20/evil.com/", 404, "-", ""},
		{"GET", "/a%5C/evil.com/", 404, "-", ""},
		{"GET", "/.%2e/x/", 404, "-", ""},
		{"GET", "/no/such/", 301, "-", "/no/such"},
		{"GET", "/caf%C3%A9/", 301, "-", "/caf%C3%A9"},
		{"GET", "/a%3Fb/", 301, "-", "/a%3Fb"},
	}
	for _, c := range cases {
		resp, body := raw(t, s.Addr(), c.method, c.target)
		if resp.StatusCode != c.code || resp.Header.Get("Location") != c.location {
			t.Errorf("%s %s = %d Location %q, want %d %q", c.method, c.target, resp.StatusCode, resp.Header.Get("Location"), c.code, c.location)
		}
		if c.body == "-" && strings.Contains(body, "Contact:") || c.body != "-" && body != c.body {
			t.Errorf("%s %s body %q", c.method, c.target, body)
		}
		if c.code == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s Allow %q", c.method, c.target, resp.Header.Get("Allow"))
		}
		if c.code == 200 && (resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.ContentLength != int64(len(testSecurityTxt))) {
			t.Errorf("%s %s: Content-Type %q, Content-Length %d", c.method, c.target, resp.Header.Get("Content-Type"), resp.ContentLength)
		}
	}
}

// TestHostileMethods: methods nobody defined reach the 404 like any other,
// and are counted and logged as "OTHER": a client choosing thousands of
// long methods adds no series to /metrics.
func TestHostileMethods(t *testing.T) {
	s := openSite(t)
	for i := range 20 {
		method := fmt.Sprintf("X%d%s", i, strings.Repeat("M", 10_000))
		if resp, _ := raw(t, s.Addr(), method, "/"); resp.StatusCode != 404 && resp.StatusCode != 405 {
			t.Errorf("method %d: %d", i, resp.StatusCode)
		}
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	others := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && len(l.GetValue()) > len("OPTIONS") {
					t.Fatalf("%s has a series for method %.20q…", f.GetName(), l.GetValue())
				}
				if l.GetName() == "method" && l.GetValue() == "OTHER" {
					others++
				}
			}
		}
	}
	if others == 0 {
		t.Error("no request counted under method OTHER")
	}
}

// TestSecurityTxtUnset: without the setting the route is not there.
func TestSecurityTxtUnset(t *testing.T) {
	s := openSite(t)
	for _, m := range []string{"GET", "HEAD"} {
		if resp, _ := raw(t, s.Addr(), m, "/.well-known/security.txt"); resp.StatusCode != 404 {
			t.Errorf("%s /.well-known/security.txt without the setting = %d, want 404", m, resp.StatusCode)
		}
	}
}

// TestSlowClients: a client that sends its headers, or its body, slower
// than the server's timeouts (shortened here) has its connection closed
// long before it would have finished sending.
func TestSlowClients(t *testing.T) {
	s := openSite(t, func(s *web.Server) {
		s.SecurityTxt = testSecurityTxt
		s.ReadHeaderTimeout, s.ReadTimeout = 200*time.Millisecond, 400*time.Millisecond
	})
	cases := []struct {
		name, head string
		status     string // the response's status line; "" for none
	}{
		// Each dribbles one byte every 20 ms: the headers never end, the
		// body's 100,000 bytes would take over half an hour.
		{"slow headers", "GET / HTTP/1.1\r\nHost: example.org\r\nX-Slow: ", ""},
		// net/http reads what is left of a body the handler did not read
		// before it answers, so the 405 leaves when the read times out.
		{"slow body", "POST /.well-known/security.txt HTTP/1.1\r\nHost: example.org\r\nContent-Length: 100000\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, c.head); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte{'a'}); err != nil {
							return
						}
					}
				}
			}()
			// The generous bound: a server that waited for the client
			// would still be reading when it passes.
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			got, err := io.ReadAll(conn)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("connection still open after 20 s of dribbling (read %q)", got)
			}
			if firstLine(string(got)) != c.status {
				t.Errorf("got %q before the close, want status line %q", got, c.status)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}
