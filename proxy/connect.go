package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/callgate/callgate/internal/clienthello"
	"github.com/callgate/callgate/internal/tunnel"
	"github.com/callgate/callgate/routing"
)

// connectEstablished is the reply that opens a tunnel (RFC 9110 §9.3.6).
var connectEstablished = []byte("HTTP/1.1 200 Connection established\r\n\r\n")

// maxTargetLog caps the client-supplied authority written to logs.
const maxTargetLog = 256

// serveConnect carries a CONNECT the pipeline admitted: dial the endpoint,
// and only then answer 200, so every refusal — including an unreachable
// endpoint — is a real HTTP response instead of the 200. It reports
// whether it handed the summary to a tunnel goroutine.
func (s *Server) serveConnect(w http.ResponseWriter, p *pass) (handedOff bool) {
	r, st, sum, d, adm := p.r, p.st, p.sum, p.d, p.adm
	upstream, err := s.dialAddr(r.Context(), st.snap, p.addr)
	if err != nil {
		if errClientGone(r, err) {
			sum.outcome, sum.status, sum.err = OutcomeClientGone, 499, err
			return false
		}
		s.refuse(w, sum, upstreamRefusal(d, err), true)
		return false
	}
	// The flow is registered before the hijack: once hijacked, net/http's
	// Shutdown no longer waits for this connection, ours must. A
	// revocation or reload during the ClientHello wait cuts the tunnel too.
	stop := make(chan struct{})
	j := &tunnelJob{stop: stop}
	fl := &flow{dest: d, revoked: adm.Revoked, tunnel: true, cancel: func() {
		close(stop)
		// Once the tunnel runs, its Handle stops it (runTunnel checks
		// stop after storing the Handle, so one of the two sees it).
		if h := j.handle.Load(); h != nil {
			h.Stop()
		}
	}}
	s.flows.add(fl)
	client, buffered, err := hijack(w)
	if err != nil {
		s.flows.remove(fl)
		_ = upstream.Close()
		s.refuse(w, sum, &refusal{code: CodeBadRequest, dest: d, connection: d.Connection,
			message: "CONNECT needs an HTTP/1.1 connection", cause: err}, true)
		return false
	}
	sum.status = http.StatusOK
	sum.outcome = OutcomeClosed
	// The tunnel runs on its own goroutine so that this handler returns
	// and net/http frees the connection's read and write buffers and the
	// (grown) stack of its parsing goroutine: an idle tunnel then holds
	// only its two sockets and the tunnel's own small state.
	j.client, j.upstream, j.buffered, j.d, j.fl, j.sum = client, upstream, buffered, d, fl, sum
	go s.runTunnel(j)
	return true
}

// tunnelJob is a hijacked CONNECT on its way to becoming a tunnel.
type tunnelJob struct {
	client, upstream net.Conn
	buffered         []byte // client bytes net/http had read past the request
	d                *routing.Destination
	fl               *flow
	stop             chan struct{} // closed by the flow's cancel
	sum              *summary
	handle           atomic.Pointer[tunnel.Handle]
}

// runTunnel answers 200, checks the ClientHello of an https tunnel, and
// starts the copying; it owns the summary line. It returns as soon as the
// tunnel's own goroutines run, so an idle tunnel holds only their two
// shallow stacks, not this one.
func (s *Server) runTunnel(j *tunnelJob) {
	sum, d := j.sum, j.d
	// In this order so that Shutdown, which waits for the flow, returns
	// only after the summary line is written.
	end := func() {
		sum.finish(s.log)
		s.flows.remove(j.fl)
	}
	closeBoth := func() {
		_ = j.client.Close()
		_ = j.upstream.Close()
	}
	if _, err := j.client.Write(connectEstablished); err != nil {
		closeBoth()
		sum.outcome, sum.err = OutcomeClientGone, err
		end()
		return
	}
	sum.record() // the set-up ends here; the tunnel's life is not a request duration
	gauge := sum.dm.tunnelGauge()
	gauge.Inc()
	fail := func() {
		gauge.Dec()
		end()
	}

	first, code, err := s.tunnelPrefix(j.client, j.buffered, d, j.stop)
	switch {
	case code != 0:
		closeBoth()
		sum.outcome, sum.code, sum.err = OutcomeTunnelDenied, code, err
		sum.up = int64(len(first))
		fail()
		return
	case err != nil:
		closeBoth()
		sum.outcome, sum.err = OutcomeClientGone, err
		sum.reason = j.fl.stopReason()
		fail()
		return
	}
	if len(first) > 0 {
		if _, err := j.upstream.Write(first); err != nil {
			closeBoth()
			sum.outcome, sum.err, sum.reason = OutcomeClosed, err, tunnel.ReasonError
			fail()
			return
		}
		sum.dm.tunnelBytes(int64(len(first)), 0)
	}
	// Bytes are counted as they move, so a long-lived tunnel shows its
	// traffic before it ends.
	up := int64(len(first))
	// A Stop channel per tunnel would cost a watcher goroutine per
	// tunnel; the flow's cancel uses the Handle instead.
	h := tunnel.Start(j.client, j.upstream, tunnel.Options{
		IdleTimeout: s.t.IdleTunnel,
		OnBytes:     sum.dm.tunnelBytes,
		ParkAfter:   tunnelParkAfter,
	}, func(res tunnel.Result) {
		sum.up = up + res.Up
		sum.down = res.Down
		sum.reason = res.Reason
		if why := j.fl.stopReason(); why != "" {
			sum.reason = why
		}
		sum.err = res.Err
		fail()
	})
	j.handle.Store(h)
	select {
	case <-j.stop: // cancelled before the Handle was there to see it
		h.Stop()
	default:
	}
}

// tunnelParkAfter is how long a tunnel is idle before it gives up its
// goroutines (tunnel.Options.ParkAfter): long tunnels that mostly wait
// (database sessions, websockets, idle HTTPS keep-alives) then cost only
// their heap objects. Waking costs a goroutine start, which a second of
// silence dwarfs.
const tunnelParkAfter = time.Second

// routeAuthority finds the named credential for a client's authority.
// defaultPort 0 makes the port mandatory (CONNECT).
func (s *Server) routeAuthority(authority string, defaultPort uint16, st *state, sum *summary) (*routing.Destination, *refusal) {
	host, port, err := routing.SplitHostPort(authority, defaultPort)
	if err != nil {
		sum.target = truncate(authority, maxTargetLog)
		return nil, badRequest(nil, "the request target is not a valid host:port", err)
	}
	d, err := st.snap.Routes.LookupAuthority(host, port)
	switch {
	case errors.Is(err, routing.ErrIPLiteral):
		sum.target = truncate(authority, maxTargetLog)
		return nil, unknownDestination("IP addresses are never named credentials; use the named credential's host")
	case err != nil:
		sum.target = truncate(authority, maxTargetLog)
		return nil, badRequest(nil, "the request target's host is not a valid DNS name", err)
	case d == nil:
		sum.target = truncate(authority, maxTargetLog)
		return nil, unknownDestination("the destination is not a named credential")
	}
	sum.bind(st, d)
	return d, nil
}

// hijack takes the client connection from net/http, with the bytes it had
// already read past the CONNECT request (a client may send its
// ClientHello without waiting for the 200; those bytes must not be lost).
func hijack(w http.ResponseWriter) (net.Conn, []byte, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("proxy: response writer cannot hijack")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("proxy: hijack: %w", err)
	}
	conn = unwrapClient(conn) // the tunnel copies between bare sockets
	var buffered []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		buffered = bytes.Clone(b)
	}
	// net/http may have left a deadline on the connection; the tunnel
	// manages its own.
	_ = conn.SetDeadline(time.Time{})
	return conn, buffered, nil
}

// tunnelPrefix returns the bytes to send upstream before the tunnel
// starts: for an https named credential the client's ClientHello (checked:
// its SNI, if any, must be the credential's host) plus anything the client
// sent after it; for http the bytes already buffered. A non-zero code
// means the tunnel must be closed and counted.
func (s *Server) tunnelPrefix(client net.Conn, buffered []byte, d *routing.Destination, stop <-chan struct{}) ([]byte, Code, error) {
	if d.Scheme != routing.HTTPS {
		return buffered, 0, nil
	}
	_ = client.SetReadDeadline(time.Now().Add(s.t.HeaderRead))
	// A stop (revocation, reload, shutdown) must not wait for a client
	// that never sends its hello.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-stop:
			_ = client.SetReadDeadline(time.Now())
		case <-done:
		}
	}()
	br := bytes.NewReader(buffered)
	record, sni, err := clienthello.Read(io.MultiReader(br, client), 0)
	_ = client.SetReadDeadline(time.Time{})
	if err != nil {
		if len(record) == 0 && (errors.Is(err, io.EOF) || isTimeout(err)) {
			select {
			case <-stop:
				return nil, 0, fmt.Errorf("proxy: tunnel stopped before the ClientHello: %w", err)
			default:
			}
			if errors.Is(err, io.EOF) {
				return nil, 0, fmt.Errorf("proxy: client closed before the ClientHello: %w", err)
			}
		}
		return record, CodeNotTLS, fmt.Errorf("proxy: tunnel to %s: %w", d.Name, err)
	}
	if sni != "" {
		if n, _, nerr := routing.NormalizeHost(sni); nerr != nil || n != d.Host {
			return record, CodeSNIMismatch, fmt.Errorf("proxy: tunnel to %s: ClientHello names another server", d.Name)
		}
	}
	if br.Len() == 0 {
		return record, 0, nil
	}
	rest := make([]byte, br.Len())
	_, _ = br.Read(rest)
	return append(record, rest...), 0, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
