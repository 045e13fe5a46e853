//go:build linux

package live

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller watches every hijacked connection with one epoll instance: any
// input, a half-close or an error means the peer went away (or talks when
// it should only listen), and writability means a stream whose socket was
// full can take more. Events carry the stream's id, never its descriptor:
// numbers are reused once closed.
type poller struct {
	h      *Hub
	epfd   int
	wakefd int // an eventfd that ends run
}

// wakeID is the epoll data of the eventfd; stream ids start at 1.
const wakeID = 0

func newPoller(h *Hub) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setID(&ev, wakeID)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wakefd)
		return nil, fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	return &poller{h: h, epfd: epfd, wakefd: wakefd}, nil
}

func (p *poller) enabled() bool { return true }

// setID and eventID keep a stream id in the 64 bits of epoll_data.
func setID(ev *unix.EpollEvent, id uint64) {
	ev.Fd, ev.Pad = int32(uint32(id)), int32(uint32(id>>32))
}

func eventID(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// add watches the stream's connection (edge-triggered) and keeps its
// descriptor for writes that never block. The caller holds s.mu.
func (p *poller) add(s *stream, conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return errors.New("connection has no descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("syscall conn: %w", err)
	}
	var fd int
	if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return fmt.Errorf("descriptor: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLOUT | unix.EPOLLET}
	setID(&ev, s.id)
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	s.raw, s.fd, s.polled = raw, fd, true
	return nil
}

// remove stops watching s; call it before closing the connection.
func (p *poller) remove(s *stream) {
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
}

// run waits for events until wake.
func (p *poller) run() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			p.h.log.Error("live: epoll_wait", "err", err)
			return
		}
		for i := range events[:n] {
			ev := &events[i]
			id := eventID(ev)
			if id == wakeID {
				return
			}
			s := p.h.lookup(id)
			if s == nil {
				continue
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				s.close(cutDead)
				continue
			}
			if ev.Events&unix.EPOLLOUT != 0 {
				s.outReady()
			}
		}
	}
}

// wake ends run.
func (p *poller) wake() {
	one := [8]byte{1}
	_, _ = unix.Write(p.wakefd, one[:])
}

// close releases the epoll instance; run must have ended.
func (p *poller) close() {
	_ = unix.Close(p.epfd)
	_ = unix.Close(p.wakefd)
}

// writeSome writes as much of p as the socket takes now, without waiting:
// again reports a full socket (the poller tells when it drains).
func writeSome(s *stream, p []byte) (n int, again bool, err error) {
	if s.raw == nil {
		return 0, false, errClosed
	}
	var werr error
	err = s.raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, e := unix.Write(int(fd), p[n:])
			if e == unix.EINTR {
				continue
			}
			if e != nil {
				werr = e
				return true
			}
			n += m
		}
		return true
	})
	if err != nil {
		return n, false, err
	}
	if werr == unix.EAGAIN {
		return n, true, nil
	}
	return n, false, werr
}

// openFileLimit is the soft limit of open files of the process.
func openFileLimit() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 4096
	}
	return int(rl.Cur)
}
