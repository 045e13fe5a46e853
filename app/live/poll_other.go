//go:build !linux

package live

import (
	"net"
	"time"
)

// poller does nothing outside Linux: dead peers are found by failed
// heartbeat writes, and writes wait (up to writeTimeout) for a slow
// socket.
type poller struct{}

func newPoller(*Hub) (*poller, error) { return &poller{}, nil }

func (p *poller) enabled() bool { return false }

func (p *poller) add(s *stream, conn net.Conn) error { return nil }

func (p *poller) remove(*stream) {}

func (p *poller) run() {}

func (p *poller) wake() {}

func (p *poller) close() {}

// writeSome writes p, waiting for the socket up to writeTimeout.
func writeSome(s *stream, p []byte) (n int, again bool, err error) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return 0, false, errClosed
	}
	if err := conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return 0, false, err
	}
	n, err = conn.Write(p)
	return n, false, err
}

// openFileLimit is a guess where the limit is not read.
func openFileLimit() int { return 4096 }
