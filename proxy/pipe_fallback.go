package proxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// pipeResult is how a tunnel's copying ended.
type pipeResult struct {
	up, down int64 // client→upstream, upstream→client
	reason   string
	err      error
}

// pipe copies between the two connections until both directions end, the
// tunnel is idle for idle, or stop closes; it closes both connections.
var pipe = fallbackPipe

// Close reasons reported by the fallback pipe (internal/tunnel reports its own).
const (
	pipeClientClosed   = "client_closed"
	pipeUpstreamClosed = "upstream_closed"
	pipeIdle           = "idle"
	pipeStopped        = "stopped"
	pipeError          = "error"
)

// fallbackPipe is a plain bidirectional copy used until internal/tunnel
// (the fd-frugal splice pipe) is available: one goroutine per direction,
// idle detection through read deadlines re-armed while the other
// direction is active.
func fallbackPipe(client, upstream net.Conn, idle time.Duration, stop <-chan struct{}) pipeResult {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var stopped, idled atomic.Bool
	var wg sync.WaitGroup
	var up, down int64
	var upErr, downErr error
	copyDir := func(dst, src net.Conn, n *int64, errp *error) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			_ = src.SetReadDeadline(time.Now().Add(idle))
			// stop stores the flag before it sets a past deadline, so
			// either it sees this deadline or this check sees the flag.
			if stopped.Load() {
				*errp = os.ErrDeadlineExceeded
				break
			}
			m, err := src.Read(buf)
			if m > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:m]); werr != nil {
					*errp = werr
					break
				}
				*n += int64(m)
			}
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) && !stopped.Load() &&
					time.Since(time.Unix(0, last.Load())) < idle {
					continue // the other direction is busy: not idle
				}
				if errors.Is(err, os.ErrDeadlineExceeded) && !stopped.Load() {
					idled.Store(true)
				}
				if !errors.Is(err, io.EOF) {
					*errp = err
				}
				break
			}
		}
		// Pass the half-close on, or wake the other direction if this one
		// failed.
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && *errp == nil {
			_ = cw.CloseWrite()
		} else {
			_ = dst.SetReadDeadline(time.Now())
			_ = src.SetReadDeadline(time.Now())
		}
	}
	wg.Add(2)
	go copyDir(upstream, client, &up, &upErr)
	go copyDir(client, upstream, &down, &downErr)
	done := make(chan struct{})
	go func() {
		select {
		case <-stop:
			stopped.Store(true)
			_ = client.SetReadDeadline(time.Now())
			_ = upstream.SetReadDeadline(time.Now())
		case <-done:
		}
	}()
	wg.Wait()
	close(done)
	_ = client.Close()
	_ = upstream.Close()
	res := pipeResult{up: up, down: down}
	switch {
	case stopped.Load():
		res.reason = pipeStopped
	case idled.Load():
		res.reason = pipeIdle
	case upErr != nil && !errors.Is(upErr, os.ErrDeadlineExceeded):
		res.reason, res.err = pipeError, upErr
	case downErr != nil && !errors.Is(downErr, os.ErrDeadlineExceeded):
		res.reason, res.err = pipeError, downErr
	case upErr == nil:
		res.reason = pipeClientClosed
	default:
		res.reason = pipeUpstreamClosed
	}
	return res
}
