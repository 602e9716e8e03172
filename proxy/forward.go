package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/callgate/callgate/internal/tunnel"
	"github.com/callgate/callgate/routing"
)

// transportFor returns d's upstream round tripper, creating it on first
// use: the engine's, over an http.Transport made here. Its pool is keyed
// by the endpoint address the request URL carries, so a new endpoint (a
// new Ready episode) never reuses a connection to the old.
func (s *Server) transportFor(st *state, d *routing.Destination) upstreamTransport {
	ds := st.dest(d)
	if u := ds.upstream.Load(); u != nil {
		return *u
	}
	snap := st.snap
	t := &http.Transport{
		// The proxy never uses another proxy, and the address is the
		// endpoint's (set by us in the request URL), never the client's.
		Proxy: nil,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return s.dialAddr(ctx, snap, addr)
		},
		// ServerName is the credential's host: the endpoint's certificate
		// is verified against it, not against the endpoint DNS name.
		TLSClientConfig:        d.TLS,
		TLSHandshakeTimeout:    s.t.TLSHandshake,
		ResponseHeaderTimeout:  s.t.ResponseHeader,
		IdleConnTimeout:        s.t.IdleConn,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConnsPerHost:    maxIdlePerEndpoint,
		MaxResponseHeaderBytes: s.maxRespHeaderBytes,
		// Bodies pass through as the upstream sent them.
		DisableCompression: true,
	}
	u := s.wire.transport(t)
	if ds.upstream.CompareAndSwap(nil, &u) {
		return u
	}
	return *ds.upstream.Load()
}

// upstreamTransport sends a named credential's requests to its endpoint;
// both *http.Transport and the fast engine's transport are one.
type upstreamTransport interface {
	http.RoundTripper
	CloseIdleConnections()
}

// maxIdlePerEndpoint bounds pooled idle connections per named credential.
const maxIdlePerEndpoint = 256

// exchange sends outreq for d and relays the response to w, streaming both
// bodies. Failures before the response headers become docs/refusals.md refusals;
// after them the response is cut short. guard, when set (an injected
// callout), keeps the injected credential out of the response.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request, outreq *http.Request, st *state, d *routing.Destination, revoked <-chan struct{}, sum *summary, guard *reflectGuard) {
	// Revocation, the watchdog and a departed client end the exchange
	// early, all by cancelling its request's context.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	fl := &flow{dest: d, revoked: revoked, cancel: cancel}
	s.flows.add(fl)
	defer s.flows.remove(fl)

	// One watchdog bounds every silence: a client that stops sending its
	// body, an upstream that stops sending its own, a client that stops
	// reading. Once the response is under way, a write blocked on a
	// client that stopped reading is woken by a past write deadline (one
	// call when it fires, instead of a deadline per write).
	rc := http.NewResponseController(w)
	var responding atomic.Bool
	wd := newWatchdog(s.t.IdleTunnel, func() {
		fl.cancel()
		if responding.Load() {
			_ = rc.SetWriteDeadline(aLongTimeAgo)
		}
	})
	defer wd.stop()
	// The transport reads the request body on its own goroutine, possibly
	// after RoundTrip returned: count it atomically.
	var upBytes atomic.Int64
	defer func() { sum.up = upBytes.Load() }()
	var body *activityBody
	if outreq.Body != nil {
		body = &activityBody{ReadCloser: outreq.Body, wd: wd, n: &upBytes}
		outreq.Body = body
		// The endpoint may answer before it has read the whole body
		// (and keep reading while it answers): without full duplex,
		// net/http would drain or cut the body when we write the reply.
		_ = rc.EnableFullDuplex()
	}
	rt := s.transportFor(st, d)
	// Checked after the response body is closed (and so maybe pooled):
	// SetSnapshot marks a state retired before it empties the pools, so a
	// connection pooled after that is closed here.
	defer func() {
		if st.retired.Load() {
			rt.CloseIdleConnections()
		}
	}()
	res, err := rt.RoundTrip(outreq.WithContext(ctx))
	if err != nil {
		cutShort := ctx.Err() != nil
		switch {
		case errClientGone(r, err):
			sum.outcome, sum.status, sum.err = OutcomeClientGone, 499, err
		case cutShort && fl.stopReason() != "":
			sum.reason = fl.stopReason()
			s.refuse(w, sum, &refusal{code: CodeConnectionNotReady, dest: d, connection: d.Connection,
				message: "the named credential or its connection was withdrawn", cause: err}, false)
		case body != nil && body.failed() != nil:
			// The client's own body broke (bad chunking, cut short): not
			// the endpoint's fault.
			s.refuse(w, sum, badRequest(d, "the request body is malformed or ended early", body.failed()), false)
		case cutShort && wd.fired():
			s.refuse(w, sum, &refusal{code: CodeUpstreamTimeout, dest: d, connection: d.Connection,
				message: "no data moved for the idle timeout", cause: err}, false)
		default:
			s.refuse(w, sum, upstreamRefusal(d, err), false)
		}
		return
	}
	defer res.Body.Close()
	wd.touch()
	if guard != nil {
		if guard.inFields(res.Header) {
			s.refuse(w, sum, &refusal{code: CodeCredentialReflected, dest: d, connection: d.Connection,
				message: "the endpoint's response headers carry the credential callgate injected; not relayed"}, false)
			return
		}
		res.Body = guard.body(res.Body)
	}

	h := w.Header()
	copyEndToEnd(h, res.Header)
	// Only callgate's own refusals carry the code (and the phrase from it).
	delete(h, refusalCodeHeader)
	if _, ok := h["Content-Type"]; !ok {
		// Relay the endpoint's message as it is: without this net/http
		// would add a Content-Type guessed from the first bytes.
		h["Content-Type"] = nil
	}
	addVia(h, res.ProtoMajor, res.ProtoMinor)
	// Announce the trailers that may pass, so net/http sends them after
	// the body; the hop-by-hop rules apply to them as to headers.
	for k := range res.Trailer {
		if endToEndTrailer(k) {
			h.Add("Trailer", k)
		}
	}
	w.WriteHeader(res.StatusCode)
	sum.status = res.StatusCode
	sum.outcome = OutcomeOK

	// Unknown length (streams, server-sent events, a full-duplex exchange
	// where the endpoint answers before the client sent its body): send
	// the headers now and flush every chunk, so the client sees data as the
	// endpoint sends it.
	flush := res.ContentLength == -1
	responding.Store(true)
	if wd.fired() {
		_ = rc.SetWriteDeadline(aLongTimeAgo) // it fired before it could see responding
	}
	if flush {
		_ = rc.Flush()
	}
	n, err := copyResponse(w, rc, res.Body, wd, flush)
	sum.down = n
	if err == nil && guard != nil && guard.inFields(res.Trailer) {
		err = errCredentialReflected
	}
	if errors.Is(err, errCredentialReflected) {
		// The head is sent: the cut is the refusal, counted as one.
		sum.reason, sum.code = CodeCredentialReflected.String(), CodeCredentialReflected
		sum.countRefusal()
	}
	if err != nil {
		sum.outcome, sum.err = OutcomeAborted, err
		if why := fl.stopReason(); why != "" {
			sum.reason = why
		} else if wd.fired() {
			sum.reason = tunnel.ReasonIdle
		}
		// Abort the client's response so it cannot mistake a truncated
		// body for a complete one.
		panic(http.ErrAbortHandler)
	}
	for k, vv := range res.Trailer {
		if !endToEndTrailer(k) {
			continue
		}
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				h.Add(http.TrailerPrefix+k, v)
			}
		}
	}
}

// copyResponse streams the upstream body to the client, touching the
// watchdog as bytes move: a client that stops reading, like an upstream
// that stops sending, lets it fire.
func copyResponse(w http.ResponseWriter, rc *http.ResponseController, body io.Reader, wd *watchdog, flush bool) (int64, error) {
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	var n int64
	for {
		m, rerr := body.Read(buf)
		if m > 0 {
			wd.touch()
			wn, werr := w.Write(buf[:m])
			n += int64(wn)
			if werr != nil {
				return n, werr
			}
			// Flush when the upstream had nothing more ready (a short
			// read): the client gets what exists now instead of waiting
			// for a full buffer behind a slow upstream.
			if flush || m < len(buf) {
				if ferr := rc.Flush(); ferr != nil {
					return n, ferr
				}
			}
			wd.touch()
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return n, nil
			}
			return n, rerr
		}
	}
}

// activityBody counts the request body, tells the watchdog it moved, and
// remembers a read failure so it is blamed on the client.
type activityBody struct {
	io.ReadCloser
	wd  *watchdog
	n   *atomic.Int64
	err atomic.Pointer[error]
}

func (b *activityBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.n.Add(int64(n))
		b.wd.touch()
	}
	if err != nil && err != io.EOF {
		b.err.CompareAndSwap(nil, &err)
	}
	return n, err
}

// failed is the body's read error, or nil.
func (b *activityBody) failed() error {
	if p := b.err.Load(); p != nil {
		return *p
	}
	return nil
}

// copyBufs recycles the 32 KiB response copy buffers.
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}
