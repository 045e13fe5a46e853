package web

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// net/http writes a response through a 4 KiB buffer per connection, so a
// response larger than that minus its headers (a post page is, with the
// security headers) leaves in two write(2) calls: the full buffer, then the
// rest when the handler returns. Each write on loopback costs about as much
// as the request's whole handler, and nginx sends the same page in one
// writev(2). coalescingListener gives net/http connections that hold a
// write of exactly the buffer's size back, and send it together with the
// next write in one writev(2). A held write is sent no later than the
// connection's next Read (net/http reads the next request only after the
// response is out), its Close, or holdFor, whichever comes first, so a
// streaming handler that stops after a full buffer is not kept waiting.
type coalescingListener struct{ net.Listener }

// httpWriteBuffer is the size of net/http's per-connection write buffer
// (net/http.newBufioWriterSize(…, 4<<10) in conn.serve).
const httpWriteBuffer = 4 << 10

// holdFor bounds how long a held write waits for the next one.
const holdFor = 2 * time.Millisecond

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coalescingConn{Conn: c, hold: holdFor}, nil
}

// coalescingConn is a net.Conn whose writes of exactly httpWriteBuffer
// bytes wait to go out with the next write; see coalescingListener.
type coalescingConn struct {
	net.Conn
	hold  time.Duration // holdFor, but in tests
	mu    sync.Mutex
	held  []byte // a copy of the held write; empty when none
	timer *time.Timer
	err   error // the error of a held write sent late, for the next Write
}

// Write holds p back when it is a full net/http buffer and sends it with
// whatever comes next.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if len(c.held) > 0 {
		c.stopTimer()
		bufs := net.Buffers{c.held, p}
		n, err := bufs.WriteTo(c.Conn) // one writev(2)
		held := len(c.held)
		c.held = c.held[:0]
		if err != nil {
			c.err = err
			return max(0, int(n)-held), err
		}
		return len(p), nil
	}
	if len(p) == httpWriteBuffer {
		c.held = append(c.held[:0], p...)
		if c.timer == nil {
			c.timer = time.AfterFunc(c.hold, c.flushLate)
		} else {
			c.timer.Reset(c.hold)
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *coalescingConn) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
	}
}

// flush sends a held write now; c.mu must be held.
func (c *coalescingConn) flush() error {
	if len(c.held) == 0 {
		return c.err
	}
	c.stopTimer()
	_, err := c.Conn.Write(c.held)
	c.held = c.held[:0]
	if err != nil && c.err == nil {
		c.err = err
	}
	return err
}

func (c *coalescingConn) flushLate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.flush()
}

// Read sends a held write first: the response is complete when its
// server reads again.
func (c *coalescingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.held) > 0 {
		_ = c.flush()
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// ReadFrom sends a held write, then lets the connection copy from r (with
// sendfile or splice for a *net.TCPConn), as net/http would without this
// wrapper.
func (c *coalescingConn) ReadFrom(r io.Reader) (int64, error) {
	c.mu.Lock()
	err := c.flush()
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return io.Copy(c.Conn, r)
}

// CloseWrite sends a held write and shuts the sending side, when the
// connection can.
func (c *coalescingConn) CloseWrite() error {
	c.flushBeforeClose()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn gives the connection's descriptor, for a hijacked stream
// that writes to and polls it directly (app/live), after sending a held
// write, so that nothing written through the wrapper goes out after what
// is written to the descriptor.
func (c *coalescingConn) SyscallConn() (syscall.RawConn, error) {
	c.mu.Lock()
	err := c.flush()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("web: the connection has no descriptor")
	}
	return sc.SyscallConn()
}

// Close sends a held write and closes the connection.
func (c *coalescingConn) Close() error {
	c.flushBeforeClose()
	return c.Conn.Close()
}

// closeFlushWait bounds the last send of a held write at close.
const closeFlushWait = time.Second

// flushBeforeClose sends a held write, giving up after closeFlushWait. When
// another goroutine is in the middle of a write (a client that stopped
// reading can keep it there forever), it does not wait for it: closing the
// connection is what ends that write, as it would without this wrapper.
func (c *coalescingConn) flushBeforeClose() {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	if len(c.held) > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushWait))
		_ = c.flush()
	}
}
