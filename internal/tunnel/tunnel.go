// Package tunnel copies bytes both ways between a client and an upstream
// connection (a CONNECT tunnel or any hijacked connection) while holding as
// little as possible when the tunnel is idle: no buffer, no pipe, no extra
// file descriptor, and with Options.ParkAfter (Linux) no goroutine either.
package tunnel

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Reasons a tunnel ended, as Result.Reason reports them.
const (
	// ReasonEOF: both directions finished with an orderly end of stream.
	ReasonEOF = "eof"
	// ReasonIdle: no byte moved either way for Options.IdleTimeout.
	ReasonIdle = "idle"
	// ReasonStopped: Options.Stop was closed.
	ReasonStopped = "stopped"
	// ReasonError: a read or write failed (Result.Err says which).
	ReasonError = "error"
)

// Options tune one tunnel. The zero value copies until both sides finish.
type Options struct {
	// IdleTimeout closes the tunnel when no byte moved either way for this
	// long; it is checked a few times per period, not per read, so the
	// tunnel ends between IdleTimeout and 1.25×IdleTimeout after the last
	// byte. Zero means no idle limit.
	IdleTimeout time.Duration
	// Stop, once closed, closes both connections at once (the connection
	// left Ready, the named credential was removed, shutdown). Nil means
	// the tunnel is never stopped from outside.
	Stop <-chan struct{}
	// OnBytes, if not nil, is called after each write with the bytes it
	// moved: up is client→upstream, down is upstream→client, one of them 0.
	// It runs on the copying goroutines, concurrently for the two
	// directions, so it must be quick and safe for concurrent use (a
	// Prometheus counter's Add is).
	OnBytes func(up, down int64)
	// ParkAfter lets a tunnel on which no byte moved for this long give up
	// its two goroutines: each direction's socket waits in a shared epoll
	// set instead, and a fresh goroutine picks the direction up when data
	// or the tunnel's end arrives (Linux, TCP and Unix sockets only). The
	// tunnel parks between ParkAfter and 1.5×ParkAfter after its last
	// byte. Zero means never: each direction keeps its goroutine.
	ParkAfter time.Duration
}

// Result says how a tunnel ended.
type Result struct {
	// Up and Down count the bytes written client→upstream and
	// upstream→client.
	Up, Down int64
	// Reason is one of ReasonEOF, ReasonIdle, ReasonStopped, ReasonError.
	Reason string
	// Err is the failure that ended the tunnel when Reason is ReasonError,
	// nil otherwise.
	Err error
}

// tunnel is the state both directions and the watchers share.
type tunnel struct {
	client, upstream net.Conn
	opts             Options
	pools            *bufPools
	splice           bool // splice bulk bursts between TCP sockets
	up, down         atomic.Int64
	running          atomic.Int32 // directions still copying
	left             atomic.Int32 // goroutines not yet finished
	done             func(Result)
	dirs             [2]*direction // upstream→client, client→upstream
	ended            atomic.Bool   // set by end before it closes anything

	endOnce sync.Once
	reason  string // written once inside endOnce
	err     error

	idle *idleWatch // nil without IdleTimeout or ParkAfter
}

// Pipe copies client→upstream and upstream→client until both directions
// reach end of stream, or Options stop it, or a read or write fails, then
// closes both connections and reports. It always closes both, and returns
// only when no goroutine it started is left.
//
// When one side ends its stream, Pipe half-closes the other side's write
// half (CloseWrite) and keeps copying the other way; a side that cannot
// half-close (net.Pipe, most wrappers) ends the whole tunnel instead.
// Pipe clears any deadline set on the connections.
//
// For *net.TCPConn and *net.UnixConn sources Pipe waits for readability in
// the network poller holding nothing, reads each burst with a pooled 32 KiB
// buffer and, when a burst turns out to be bulk between two TCP sockets,
// splices the rest of it through a pipe opened for that burst only. An idle
// tunnel thus holds no buffer, no pipe and no descriptor beyond its two
// sockets. Any other net.Conn (a *tls.Conn, a wrapper with its own buffered
// reader) is read through its Read method with a pooled buffer held for
// the direction's lifetime.
func Pipe(client, upstream net.Conn, opts Options) Result {
	return pipe(client, upstream, opts, defaultPools, true)
}

func pipe(client, upstream net.Conn, opts Options, pools *bufPools, splice bool) Result {
	done := make(chan Result, 1)
	start(client, upstream, opts, pools, splice, func(r Result) { done <- r })
	return <-done
}

// Start is Pipe without the wait: it returns at once and calls done with
// the Result from the last of the tunnel's goroutines as that goroutine's
// final act. The caller's goroutine is free to return, so a tunnel started
// from a deep call stack (an HTTP handler) holds only two fresh, shallow
// goroutine stacks while idle. done must not block for long.
//
// The returned Handle stops the tunnel like Options.Stop does, without the
// shared watcher goroutine a Stop channel needs: a caller that would make
// a channel per tunnel should use the Handle instead.
func Start(client, upstream net.Conn, opts Options, done func(Result)) *Handle {
	return &Handle{t: start(client, upstream, opts, defaultPools, true, done)}
}

// Handle is a started tunnel.
type Handle struct{ t *tunnel }

// Stop closes both connections at once; the tunnel reports ReasonStopped
// unless it had already ended. It does not wait.
func (h *Handle) Stop() { h.t.end(ReasonStopped, nil) }

func start(client, upstream net.Conn, opts Options, pools *bufPools, splice bool, done func(Result)) *tunnel {
	t := &tunnel{client: client, upstream: upstream, opts: opts, pools: pools, splice: splice, done: done}
	// A deadline left from reading the request would cut a healthy
	// tunnel; idleness is Options.IdleTimeout's job.
	_ = client.SetDeadline(time.Time{})
	_ = upstream.SetDeadline(time.Time{})
	t.running.Store(2)
	t.left.Store(2)
	if !parkingSupported {
		t.opts.ParkAfter = 0
	}
	t.dirs = [2]*direction{newDirection(t, false), newDirection(t, true)}
	if opts.IdleTimeout > 0 || t.opts.ParkAfter > 0 {
		t.idle = startIdleWatch(t, opts.IdleTimeout, t.opts.ParkAfter)
	}
	if opts.Stop != nil {
		watchStop(opts.Stop, t)
	}
	go t.runGoroutine(t.dirs[0])
	go t.runGoroutine(t.dirs[1])
	return t
}

// runGoroutine runs one direction on the current goroutine, until it
// finishes or parks (the parker then starts a new goroutine for it); the
// last direction to finish tears down the watchers and reports.
func (t *tunnel) runGoroutine(d *direction) {
	if !t.runDirection(d) {
		return
	}
	if t.left.Add(-1) != 0 {
		return
	}
	if t.opts.Stop != nil {
		unwatchStop(t.opts.Stop, t)
	}
	if t.idle != nil {
		t.idle.stop()
	}
	t.done(Result{Up: t.up.Load(), Down: t.down.Load(), Reason: t.reason, Err: t.err})
}

// runDirection copies one way and settles the tunnel's fate when it ends.
// It reports false if the direction parked instead.
func (t *tunnel) runDirection(d *direction) bool {
	err := d.run()
	if err == errParked {
		return false
	}
	d.finished.Store(true)
	switch {
	case err != nil:
		t.end(ReasonError, err)
	case !d.halfClosed:
		// The peer cannot learn of the end of stream any other way.
		t.end(ReasonEOF, nil)
	case t.running.Add(-1) == 0:
		t.end(ReasonEOF, nil)
	}
	// Otherwise the other direction is still copying; it ends the tunnel.
	return true
}

// end records why the tunnel ended, once, and closes both connections,
// which wakes every goroutine blocked on them. Later calls (the errors the
// closing itself causes) change nothing.
func (t *tunnel) end(reason string, err error) {
	t.endOnce.Do(func() {
		t.reason, t.err = reason, err
		t.ended.Store(true)
		_ = t.client.Close()
		_ = t.upstream.Close()
		// A parked direction has no goroutine to notice the close.
		defaultParker.release(t)
	})
}

// moved accounts for one write.
func (t *tunnel) moved(up bool, n int) {
	if up {
		t.up.Add(int64(n))
		if t.opts.OnBytes != nil {
			t.opts.OnBytes(int64(n), 0)
		}
		return
	}
	t.down.Add(int64(n))
	if t.opts.OnBytes != nil {
		t.opts.OnBytes(0, int64(n))
	}
}

// errParked is what direction.run returns when the direction handed
// itself to the parker.
var errParked = errors.New("tunnel: direction parked")

// aLongTimeAgo is a read deadline that wakes a blocked read at once.
var aLongTimeAgo = time.Unix(1, 0)

// requestPark asks the directions that wait for data to park: a past read
// deadline wakes their reads, and run hands them to the parker.
func (t *tunnel) requestPark() {
	for _, d := range t.dirs {
		if d.raw != nil && !d.finished.Load() && !d.parked.Load() {
			_ = d.src.SetReadDeadline(aLongTimeAgo)
		}
	}
}

// allParked reports whether every direction that can park has: the rest
// read through a net.Conn's Read (TLS) or have finished.
func (t *tunnel) allParked() bool {
	for _, d := range t.dirs {
		if d.raw != nil && !d.finished.Load() && !d.parked.Load() {
			return false
		}
	}
	return true
}

// wantsPark reports whether err is the past deadline requestPark set.
func (d *direction) wantsPark(err error) bool {
	return d.t.opts.ParkAfter > 0 && errors.Is(err, os.ErrDeadlineExceeded)
}

// Parked is how many tunnel directions are parked now (each idle tunnel
// with ParkAfter parks two).
func Parked() int { return defaultParker.count() }
