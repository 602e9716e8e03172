// Package rawio reads and writes a non-blocking socket without handing the
// goroutine's P to another thread for the syscall.
//
// Go's net package enters every read and write through syscall.Syscall,
// which tells the scheduler the thread may block. A loopback write is never
// blocking (the socket is non-blocking) but runs the receiver's TCP input in
// the same call, tens of microseconds; the runtime's monitor then sees the
// P "in a syscall", takes it away and wakes another thread for the waiting
// goroutines, and the monitor itself stays on its shortest tick. Under a proxy's
// load that costs more CPU than the proxying (BENCHMARKS.md). A call that
// cannot block may use RawSyscall, which keeps the P: waiting for the socket
// still goes through the runtime's poller (syscall.RawConn), so deadlines,
// Close and the idle parking work as with net.Conn.
package rawio

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Conn reads and writes c's socket. It is not safe for concurrent Reads or
// concurrent Writes (a Read may run beside a Write), like the bufio
// Reader and Writer it sits under.
type Conn struct {
	rc syscall.RawConn

	rbuf []byte
	rn   int
	rerr error
	read func(fd uintptr) bool

	wbuf []byte
	wn   int
	werr error
	wr   func(fd uintptr) bool
}

// New returns a Conn for c's socket.
func New(c *net.TCPConn) (*Conn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	rw := &Conn{rc: rc}
	rw.read = rw.tryRead
	rw.wr = rw.tryWrite
	return rw, nil
}

// Read reads once into p, waiting in the poller while there is nothing to
// read; the end of stream is io.EOF.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rbuf, c.rn, c.rerr = p, 0, nil
	err := c.rc.Read(c.read)
	c.rbuf = nil
	if err != nil {
		return 0, err // the poller's: a deadline, or the socket closed
	}
	return c.rn, c.rerr
}

func (c *Conn) tryRead(fd uintptr) bool {
	for {
		n, e := ReadFD(fd, c.rbuf)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return false
		case e != 0:
			c.rerr = os.NewSyscallError("read", e)
		case n == 0:
			c.rerr = io.EOF
		default:
			c.rn = int(n)
		}
		return true
	}
}

// Write writes all of p, waiting in the poller while the socket's buffer
// is full.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wbuf, c.wn, c.werr = p, 0, nil
	err := c.rc.Write(c.wr)
	c.wbuf = nil
	if c.werr == nil && err != nil {
		c.werr = err
	}
	return c.wn, c.werr
}

func (c *Conn) tryWrite(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		rest := c.wbuf[c.wn:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return false
		case e != 0:
			c.werr = os.NewSyscallError("write", e)
			return true
		}
		c.wn += int(n)
	}
	return true
}

// ReadFD is one read(2) on fd without handing off the P, for a caller
// already inside syscall.RawConn.Read's callback.
func ReadFD(fd uintptr, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), e
}

// SpliceFD is one non-blocking splice(2) of up to n bytes from in to out
// (SPLICE_F_NONBLOCK; a socket side must be non-blocking itself), keeping
// the P like ReadFD.
func SpliceFD(in, out, n int) (int, syscall.Errno) {
	const spliceNonblock = 0x2 // SPLICE_F_NONBLOCK
	r, _, e := syscall.RawSyscall6(syscall.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), spliceNonblock)
	return int(r), e
}
