package web

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCoalescingServesEveryResponseSize serves bodies around net/http's
// 4 KiB write buffer, a large one, and a streamed one that stops after a
// full buffer, over one keep-alive connection through the coalescing
// listener: every body arrives whole, and the streamed one without waiting
// for the end of the response.
func TestCoalescingServesEveryResponseSize(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/size/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		w.Write(bytes.Repeat([]byte{'a' + byte(n%26)}, n))
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte{'s'}, 3*httpWriteBuffer))
		w.(http.Flusher).Flush()
		<-release
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(coalescingListener{ln})
	t.Cleanup(func() { close(release); srv.Close() })

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
	for _, n := range []int{0, 1, 3500, 3900, 4000, 4096, 4097, 8192, 8193, 100_000} {
		resp, err := client.Get(fmt.Sprintf("http://%s/size/%d", ln.Addr(), n))
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(body) != n || strings.Trim(string(body), string(rune('a'+n%26))) != "" {
			t.Fatalf("size %d: got %d bytes, err %v", n, len(body), err)
		}
	}
	resp, err := client.Get(fmt.Sprintf("http://%s/stream", ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make([]byte, 3*httpWriteBuffer)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, got); done <- err }()
	select {
	case err := <-done:
		if err != nil || strings.Trim(string(got), "s") != "" {
			t.Fatalf("streamed part: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a flushed stream is held back while its handler waits")
	}
}

// TestCoalescingHoldsAFullBufferUntilTheRest: net/http's first write of a
// 5 KB response (its full 4 KiB buffer) waits for the second, and a held
// write leaves on the connection's next Read, on Close, or after the hold.
func TestCoalescingHoldsAFullBufferUntilTheRest(t *testing.T) {
	t.Parallel()
	a, b := tcpPair(t)
	c := &coalescingConn{Conn: a, hold: time.Hour}
	full := bytes.Repeat([]byte{'x'}, httpWriteBuffer)
	nothingYet := func(what string) {
		t.Helper()
		b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, _ := b.Read(make([]byte, 1)); n != 0 {
			t.Fatalf("%s: the full buffer left alone", what)
		}
	}
	expect := func(what string, want []byte) {
		t.Helper()
		b.SetReadDeadline(time.Now().Add(5 * time.Second))
		got := make([]byte, len(want))
		if _, err := io.ReadFull(b, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if n, err := c.Write(full); n != httpWriteBuffer || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	nothingYet("after a full buffer")
	if n, err := c.Write([]byte("tail")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	expect("with the rest", append(append([]byte{}, full...), "tail"...))

	c.Write(full)
	nothingYet("before the next read")
	go c.Read(make([]byte, 1)) // the server reading the next request
	expect("on Read", full)

	c.hold = 20 * time.Millisecond
	c.Write(full)
	expect("after the hold", full)

	c.hold = time.Hour
	c.Write(full)
	c.Close()
	expect("on Close", full)
}

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); accepted <- c }()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	t.Cleanup(func() { a.Close(); b.Close() })
	return b, a
}

// TestCoalescingCloseDoesNotWaitForAStuckWrite: a client that stopped
// reading holds a write in the kernel forever; Close still returns, and
// ends that write.
func TestCoalescingCloseDoesNotWaitForAStuckWrite(t *testing.T) {
	t.Parallel()
	a, _ := tcpPair(t) // the other end never reads
	c := &coalescingConn{Conn: a, hold: time.Hour}
	writeDone := make(chan error, 1)
	go func() {
		big := bytes.Repeat([]byte{'x'}, 64<<20) // far beyond the socket buffers
		_, err := c.Write(big)
		writeDone <- err
	}()
	time.Sleep(100 * time.Millisecond) // the write is stuck by now
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a write the client will never read")
	}
	select {
	case err := <-writeDone:
		if err == nil {
			t.Fatal("the stuck write succeeded after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stuck write did not end with Close")
	}
}

// TestCoalescingGivesTheDescriptor: a hijacked connection still offers its
// descriptor (the live hub polls and writes it directly), and a write held
// back before is sent first. Before, the wrapper hid syscall.Conn and every
// live stream on the site failed at setup.
func TestCoalescingGivesTheDescriptor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := coalescingListener{ln}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	held := bytes.Repeat([]byte("h"), httpWriteBuffer)
	if _, err := c.Write(held); err != nil {
		t.Fatal(err)
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatal("the accepted connection is not a syscall.Conn")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil || fd < 0 {
		t.Fatalf("descriptor %d, %v", fd, err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(held))
	if _, err := io.ReadFull(client, got); err != nil || !bytes.Equal(got, held) {
		t.Fatalf("the held write did not go out before the descriptor was given: %v", err)
	}
}
