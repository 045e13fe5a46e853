package web

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveTimeouts serves mux through the Server's middleware, http.Server
// and listener, with read and write timeouts of d.
func serveTimeouts(t *testing.T, d time.Duration, mux *http.ServeMux) string {
	t.Helper()
	s := NewServer()
	s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s.ReadTimeout, s.WriteTimeout = d, d
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.httpServer(s.logRequests(securityHeaders(mux, false)))
	go srv.Serve(coalescingListener{ln})
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// get GETs url on a connection of its own.
func get(url string) (*http.Response, error) {
	return (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(url)
}

// TestLiftDeadlines streams a response, and reads a request body sent
// bit by bit, for three times the read and write timeouts: after
// liftDeadlines the whole stream goes through (and the request's context
// stays alive); without it each is cut off.
func TestLiftDeadlines(t *testing.T) {
	t.Parallel()
	const timeout, ticks, every = 300 * time.Millisecond, 6, 150 * time.Millisecond
	lift := func(w http.ResponseWriter, r *http.Request) bool {
		if r.PathValue("mode") != "lifted" {
			return true
		}
		if err := liftDeadlines(w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return false
		}
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream/{mode}", func(w http.ResponseWriter, r *http.Request) {
		if !lift(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		rc := http.NewResponseController(w)
		for i := range ticks {
			if _, err := fmt.Fprintf(w, "tick %d\n", i); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			time.Sleep(every)
		}
		fmt.Fprintf(w, "done, context %v\n", r.Context().Err())
	})
	mux.HandleFunc("POST /upload/{mode}", func(w http.ResponseWriter, r *http.Request) {
		if !lift(w, r) {
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "read %q", body)
	})
	base := serveTimeouts(t, timeout, mux)

	t.Run("response", func(t *testing.T) {
		t.Parallel()
		resp, err := get(base + "/stream/lifted")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !strings.HasSuffix(string(body), "tick 5\ndone, context <nil>\n") {
			t.Errorf("lifted stream: %d %q, err %v", resp.StatusCode, body, err)
		}
		resp, err = get(base + "/stream/plain")
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil || strings.Contains(string(body), "done") {
			t.Errorf("stream without liftDeadlines was not cut off: %q, err %v", body, err)
		}
	})
	t.Run("request", func(t *testing.T) {
		t.Parallel()
		upload := func(mode string) (string, error) {
			pr, pw := io.Pipe()
			go func() {
				for i := range ticks {
					time.Sleep(every)
					if _, err := fmt.Fprint(pw, i); err != nil {
						return
					}
				}
				pw.Close()
			}()
			defer pr.Close()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Post(base+"/upload/"+mode, "text/plain", pr)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			return fmt.Sprintf("%d %s", resp.StatusCode, body), err
		}
		if got, err := upload("lifted"); err != nil || got != `200 read "012345"` {
			t.Errorf("lifted upload: %q, err %v", got, err)
		}
		if got, err := upload("plain"); err == nil && strings.HasPrefix(got, "200") {
			t.Errorf("upload without liftDeadlines was not cut off: %q", got)
		}
	})
}

// TestAllowTransfer: a response that waits past WriteTimeout (and
// ReadTimeout) still leaves when allowTransfer gave it time for its size;
// given none, it is cut off.
func TestAllowTransfer(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	s := NewServer()
	s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s.WriteTimeout = timeout
	mux := http.NewServeMux()
	mux.HandleFunc("GET /transfer/{size}", func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.ParseInt(r.PathValue("size"), 10, 64)
		s.allowTransfer(w, r, size)
		time.Sleep(3 * timeout)
		fmt.Fprintf(w, "sent, context %v", r.Context().Err())
	})
	base := serveTimeouts(t, timeout, mux)

	resp, err := get(base + "/transfer/" + strconv.Itoa(64<<20)) // 2048 s more at minTransferRate
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "sent, context <nil>" {
		t.Errorf("64 MiB allowance: %q, err %v", body, err)
	}
	if resp, err := get(base + "/transfer/0"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Errorf("no allowance: got %d %q, want the connection cut", resp.StatusCode, body)
	}
}
