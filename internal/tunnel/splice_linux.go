//go:build linux

package tunnel

import (
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/callgate/callgate/internal/rawio"
)

// maxPipes caps the pipes open at once across all tunnels. A burst holds
// its pipe while the destination is slow to take the data, so without a
// cap many stalled receivers could hold two descriptors each; past the cap
// bursts copy through buffers instead. A variable for tests.
var maxPipes int64 = 1024

var (
	pipesInUse   atomic.Int64
	spliceBursts atomic.Int64 // bursts that went through a pipe (read by tests)
)

const (
	// maxSplice is the most one splice(2) call moves, and the pipe size
	// asked for: 1 MiB is Linux's default pipe-max-size.
	maxSplice  = 1 << 20
	fSetPipeSz = 1031 // F_SETPIPE_SZ
)

// splicer moves a bulk burst socket→pipe→socket inside the kernel, without
// copying through user space. It holds a pipe only for the burst: opened
// when a read fills a small buffer, closed as soon as the source has
// nothing more to read, so an idle tunnel holds no pipe (io.Copy would hold
// one per direction for the tunnel's life: 4 descriptors).
type splicer struct {
	src, dst syscall.RawConn
	pr, pw   int // the burst's pipe
	inPipe   int
	disabled bool // the kernel refused: copy through buffers instead

	// results of the last fill or drain callback
	n       int
	err     error
	drained bool // the source would block: end of the burst
	fillFn  func(fd uintptr) bool
	drainFn func(fd uintptr) bool
}

// newSplicer returns nil unless both ends are TCP sockets, the case splice
// is known to serve well (Go's own io.Copy splices only from TCP or Unix
// stream sockets too).
func newSplicer(src, dst net.Conn) *splicer {
	s, ok1 := src.(*net.TCPConn)
	d, ok2 := dst.(*net.TCPConn)
	if !ok1 || !ok2 {
		return nil
	}
	src2, err1 := s.SyscallConn()
	dst2, err2 := d.SyscallConn()
	if err1 != nil || err2 != nil {
		return nil
	}
	sp := &splicer{src: src2, dst: dst2, pr: -1, pw: -1}
	sp.fillFn, sp.drainFn = sp.fill, sp.drain
	return sp
}

// acquire reports whether this direction may splice a burst now; if so the
// caller must call burst, which gives the slot back.
func (s *splicer) acquire() bool {
	if s == nil || s.disabled {
		return false
	}
	if pipesInUse.Add(1) > maxPipes {
		pipesInUse.Add(-1)
		return false
	}
	return true
}

// burst splices until the source would block (eof false, err nil: wait
// again), reaches end of stream (eof true), or fails.
func (s *splicer) burst(d *direction) (eof bool, err error) {
	defer pipesInUse.Add(-1)
	if err := s.openPipe(); err != nil {
		s.disabled = true // out of descriptors or pipes: buffers still work
		return false, nil
	}
	defer s.closePipe()
	spliceBursts.Add(1)
	for {
		s.n, s.err, s.drained = 0, nil, false
		if err := s.src.Read(s.fillFn); err != nil {
			return false, fmt.Errorf("tunnel: %s: read: %w", d.name(), err)
		}
		switch {
		case s.err == syscall.EINVAL && s.inPipe == 0:
			// This socket pair cannot splice; nothing was consumed.
			s.disabled = true
			return false, nil
		case s.err != nil:
			return false, fmt.Errorf("tunnel: %s: read: %w", d.name(), os.NewSyscallError("splice", s.err))
		case s.drained:
			return false, nil
		case s.n == 0:
			return true, nil
		}
		for s.inPipe > 0 {
			s.n, s.err = 0, nil
			if err := s.dst.Write(s.drainFn); err != nil {
				return false, fmt.Errorf("tunnel: %s: write: %w", d.name(), err)
			}
			if s.n > 0 {
				d.t.moved(d.up, s.n)
			}
			if s.err != nil {
				return false, fmt.Errorf("tunnel: %s: write: %w", d.name(), os.NewSyscallError("splice", s.err))
			}
		}
	}
}

// fill moves what the socket has into the empty pipe. EAGAIN can only mean
// an empty socket here, so it ends the burst instead of parking: waiting is
// done without the pipe.
func (s *splicer) fill(fd uintptr) bool {
	for {
		n, err := spliceFD(int(fd), s.pw, maxSplice)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			s.drained = true
		case err != nil:
			s.err = err
		default:
			s.n = n
			s.inPipe += n
		}
		return true
	}
}

// drain moves the pipe's bytes to the socket, parking on writability when
// the socket's buffer is full.
func (s *splicer) drain(fd uintptr) bool {
	for {
		n, err := spliceFD(s.pr, int(fd), s.inPipe)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			s.err = err
		default:
			s.n = n
			s.inPipe -= n
		}
		return true
	}
}

func (s *splicer) openPipe() error {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return err
	}
	s.pr, s.pw, s.inPipe = fds[0], fds[1], 0
	// Fewer, larger splices; a smaller default pipe still works.
	_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, uintptr(s.pr), fSetPipeSz, maxSplice)
	return nil
}

func (s *splicer) closePipe() {
	_ = syscall.Close(s.pr)
	_ = syscall.Close(s.pw)
	s.pr, s.pw = -1, -1
}

// spliceFD is one non-blocking splice(2) that keeps the P (package rawio):
// the sockets are non-blocking and the pipe side is SPLICE_F_NONBLOCK.
func spliceFD(in, out, n int) (int, error) {
	m, e := rawio.SpliceFD(in, out, n)
	if e != 0 {
		return 0, e
	}
	return m, nil
}
