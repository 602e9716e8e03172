package tunnel

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// closeWriter is a connection that can end its write half alone (TCP, Unix
// sockets, *tls.Conn).
type closeWriter interface {
	CloseWrite() error
}

// direction copies src to dst for one side of a tunnel.
type direction struct {
	t          *tunnel
	src, dst   net.Conn
	out        io.Writer // dst's socket (see socketWriter)
	up         bool      // client→upstream
	halfClosed bool      // dst's write half was shut after src's end of stream
	raw        *rawReader
	splice     *splicer // nil: bulk bursts copy through buffers

	// parked is set while the parker holds the direction (no goroutine
	// runs it); registered and token belong to the parker (under its mutex).
	parked     atomic.Bool
	finished   atomic.Bool // run returned for good
	registered bool
	token      uint64
}

func newDirection(t *tunnel, up bool) *direction {
	d := &direction{t: t, up: up, src: t.upstream, dst: t.client}
	if up {
		d.src, d.dst = t.client, t.upstream
	}
	d.out = socketWriter(d.dst)
	d.raw = newRawReader(d.src, t.pools)
	if d.raw != nil && t.splice {
		d.splice = newSplicer(d.src, d.dst)
	}
	return d
}

func (d *direction) name() string {
	if d.up {
		return "client→upstream"
	}
	return "upstream→client"
}

// run copies until src's end of stream (then half-closes dst and returns
// nil) or a failure.
func (d *direction) run() error {
	var err error
	if d.raw != nil {
		for {
			err = d.copyRaw()
			if err == nil || !d.wantsPark(err) {
				break
			}
			// The tunnel is idle: wait for data without a goroutine.
			_ = d.src.SetReadDeadline(time.Time{})
			if defaultParker.park(d) {
				return errParked
			}
		}
	} else {
		err = d.copyPlain()
	}
	if err != nil {
		return err
	}
	if d.t.running.Load() == 1 {
		// The other direction already half-closed: end closes both, and
		// the close sends dst its end of stream without a shutdown call.
		return nil
	}
	if cw, ok := d.dst.(closeWriter); ok {
		if err := cw.CloseWrite(); err != nil {
			return fmt.Errorf("tunnel: %s: half-close: %w", d.name(), err)
		}
		d.halfClosed = true
	}
	return nil
}

// copyRaw holds a buffer only between readiness and the read that would
// block again. A read that fills the small buffer starts a bulk burst,
// spliced in the kernel where both ends are TCP.
func (d *direction) copyRaw() error {
	for {
		n, err := d.raw.read()
		if n > 0 {
			if werr := d.write(d.raw.buf()[:n]); werr != nil {
				d.raw.release()
				return werr
			}
		}
		if err != nil {
			d.raw.release()
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("tunnel: %s: read: %w", d.name(), err)
		}
		if d.raw.bulk && d.splice.acquire() {
			d.raw.release()
			eof, err := d.splice.burst(d)
			if err != nil {
				return err
			}
			if eof {
				return nil
			}
		}
	}
}

// copyPlain is the portable loop for connections without a raw descriptor.
func (d *direction) copyPlain() error {
	// A blocked Read holds its buffer: the price of not knowing how to
	// wait for readability on an arbitrary net.Conn.
	bp := d.t.pools.small.get()
	defer d.t.pools.small.put(bp)
	buf := *bp
	for {
		n, err := d.src.Read(buf)
		if n > 0 {
			if werr := d.write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("tunnel: %s: read: %w", d.name(), err)
		}
	}
}

func (d *direction) write(p []byte) error {
	n, err := d.out.Write(p)
	if n > 0 {
		d.t.moved(d.up, n)
	}
	if err != nil {
		return fmt.Errorf("tunnel: %s: write: %w", d.name(), err)
	}
	if n != len(p) {
		return fmt.Errorf("tunnel: %s: write: %w", d.name(), io.ErrShortWrite)
	}
	return nil
}
