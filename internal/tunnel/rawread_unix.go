//go:build unix

package tunnel

import (
	"io"
	"net"
	"syscall"
)

// rawReader reads a socket through its syscall.RawConn so that waiting for
// data holds no buffer: RawConn.Read calls readFn, which reads with a pooled
// buffer; when the read would block readFn returns the buffer and reports
// false, and the runtime parks the goroutine in the network poller until
// the socket is readable, then calls readFn again.
//
// readFn must really try the read: RawConn.Read clears the poller's
// "readable" mark before its first call (internal/poll prepareRead), so
// parking without having seen EAGAIN could sleep through data that already
// arrived.
type rawReader struct {
	rc     syscall.RawConn
	pools  *bufPools
	bp     *[]byte // held only while data flows
	bulk   bool    // the last read filled a small buffer: step up
	n      int
	err    error
	readFn func(fd uintptr) bool // bound once: no allocation per read
}

// newRawReader returns nil when src must be read through its Read method.
// Only the exact socket types qualify: a wrapper that embeds one may
// override Read (to drain its own buffer first) and must not be bypassed.
func newRawReader(src net.Conn, pools *bufPools) *rawReader {
	var sc syscall.Conn
	switch c := src.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{rc: rc, pools: pools}
	r.readFn = r.tryRead
	return r
}

func (r *rawReader) tryRead(fd uintptr) bool {
	switch {
	case r.bp == nil:
		r.bp = r.pools.small.get()
	case r.bulk && r.pools.big != nil && len(*r.bp) != r.pools.big.size:
		r.pools.small.put(r.bp)
		r.bp = r.pools.big.get()
	}
	for {
		n, err := sysRead(fd, *r.bp)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			// Nothing to read: give the buffer back before parking, so
			// an idle direction holds none.
			r.release()
			return false
		case err != nil:
			r.n, r.err = 0, err // wrapped as "tunnel: …: read: …"
		case n == 0:
			r.n, r.err = 0, io.EOF
		default:
			r.n, r.err = n, nil
			r.bulk = n == len(*r.bp)
		}
		return true
	}
}

// read waits for data and reads it into buf(); n > 0 and err == nil, or
// n == 0 and err (io.EOF at end of stream).
func (r *rawReader) read() (int, error) {
	r.n, r.err = 0, nil
	if err := r.rc.Read(r.readFn); err != nil {
		return 0, err // closed, or a deadline
	}
	return r.n, r.err
}

func (r *rawReader) buf() []byte { return *r.bp }

func (r *rawReader) release() {
	if r.bp != nil {
		r.pools.put(r.bp)
		r.bp, r.bulk = nil, false
	}
}
