// Package tunnel copies bytes both ways between a client and an upstream
// connection (a CONNECT tunnel or any hijacked connection) while holding as
// little as possible when the tunnel is idle: no buffer, no pipe, no extra
// file descriptor, one parked goroutine per direction.
package tunnel

import (
	"net"
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

	endOnce sync.Once
	reason  string // written once inside endOnce
	err     error

	idle *idleWatch // nil without IdleTimeout
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
func Start(client, upstream net.Conn, opts Options, done func(Result)) {
	start(client, upstream, opts, defaultPools, true, done)
}

func start(client, upstream net.Conn, opts Options, pools *bufPools, splice bool, done func(Result)) {
	t := &tunnel{client: client, upstream: upstream, opts: opts, pools: pools, splice: splice, done: done}
	// A deadline left from reading the request would cut a healthy
	// tunnel; idleness is Options.IdleTimeout's job.
	_ = client.SetDeadline(time.Time{})
	_ = upstream.SetDeadline(time.Time{})
	t.running.Store(2)
	t.left.Store(2)
	if opts.IdleTimeout > 0 {
		t.idle = startIdleWatch(t, opts.IdleTimeout)
	}
	if opts.Stop != nil {
		watchStop(opts.Stop, t)
	}
	go t.runGoroutine(false)
	go t.runGoroutine(true)
}

// runGoroutine is one direction's goroutine; the last to finish tears
// down the watchers and reports.
func (t *tunnel) runGoroutine(up bool) {
	t.runDirection(up)
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
func (t *tunnel) runDirection(up bool) {
	d := newDirection(t, up)
	err := d.run()
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
}

// end records why the tunnel ended, once, and closes both connections,
// which wakes every goroutine blocked on them. Later calls (the errors the
// closing itself causes) change nothing.
func (t *tunnel) end(reason string, err error) {
	t.endOnce.Do(func() {
		t.reason, t.err = reason, err
		_ = t.client.Close()
		_ = t.upstream.Close()
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
