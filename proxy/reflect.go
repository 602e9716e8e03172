package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
)

// An endpoint that reflects the request — a debug route that echoes its
// headers, an error page that quotes them — would hand the credential
// callgate injected to the client, who must never hold it. reflectGuard
// watches the response of an injected callout for those values: a response
// header or trailer carrying one is refused, and a body is cut before the
// read that would complete one is written.

// errCredentialReflected ends a response body that was about to carry an
// injected credential to the client.
var errCredentialReflected = errors.New("proxy: the endpoint's response carries the injected credential")

// minReflectLen is the shortest value worth watching for: shorter ones
// (a user name, "1") would cut ordinary responses.
const minReflectLen = 8

// reflectGuard holds the values the credential's Injector set on one
// request.
type reflectGuard struct {
	secrets [][]byte
}

// newReflectGuard watches the values the Injector added to a request:
// those in injected that the client had not sent; nil when there are none
// worth watching. Asking the request rather than the Injector covers every
// kind of authentication, signatures included. A value "Scheme token" is
// watched as a whole and as its token, which is what an echo of a parsed
// header shows.
func newReflectGuard(sent, injected http.Header) *reflectGuard {
	g := &reflectGuard{}
	for k, vv := range injected {
		for _, v := range vv {
			if slices.Contains(sent[k], v) {
				continue
			}
			g.add(v)
			if _, tok, found := strings.Cut(v, " "); found {
				g.add(tok)
			}
		}
	}
	if len(g.secrets) == 0 {
		return nil
	}
	return g
}

func (g *reflectGuard) add(v string) {
	if v = strings.TrimSpace(v); len(v) >= minReflectLen {
		g.secrets = append(g.secrets, []byte(v))
	}
}

func (g *reflectGuard) in(b []byte) bool {
	for _, s := range g.secrets {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}

// inFields reports whether any field of h (name or value) carries a
// watched value.
func (g *reflectGuard) inFields(h http.Header) bool {
	for k, vv := range h {
		if g.in([]byte(k)) {
			return true
		}
		for _, v := range vv {
			if g.in([]byte(v)) {
				return true
			}
		}
	}
	return false
}

// heldBack is how many bytes at the end of b could start a watched value:
// the longest suffix of b that is a prefix of one.
func (g *reflectGuard) heldBack(b []byte) int {
	held := 0
	for _, s := range g.secrets {
		for k := min(len(s)-1, len(b)); k > held; k-- {
			if bytes.HasPrefix(s, b[len(b)-k:]) {
				held = k
				break
			}
		}
	}
	return held
}

// body wraps a response body so that no read returns the bytes that would
// complete a watched value; the read that finds one fails with
// errCredentialReflected instead. Bytes that may start one are held back
// until the next read shows they do not (or the body ends), so a stream
// that never carries a credential flows as it arrives.
func (g *reflectGuard) body(src io.ReadCloser) io.ReadCloser {
	return &reflectBody{src: src, g: g}
}

type reflectBody struct {
	src   io.ReadCloser
	g     *reflectGuard
	held  []byte // read, not yet returned: a possible start of a value
	ready []byte // checked, to be returned
	buf   []byte
	err   error
}

func (b *reflectBody) Read(p []byte) (int, error) {
	for len(b.ready) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if cap(b.buf) < len(p) {
			b.buf = make([]byte, len(p))
		}
		n, err := b.src.Read(b.buf[:len(p)])
		data := append(b.held, b.buf[:n]...)
		if b.g.in(data) {
			b.held, b.err = nil, errCredentialReflected
			return 0, b.err
		}
		if err != nil {
			b.ready, b.held, b.err = data, nil, err
			break
		}
		k := b.g.heldBack(data)
		b.ready = data[:len(data)-k]
		b.held = append([]byte(nil), data[len(data)-k:]...)
	}
	n := copy(p, b.ready)
	b.ready = b.ready[n:]
	if len(b.ready) == 0 && b.err != nil {
		return n, b.err
	}
	return n, nil
}

func (b *reflectBody) Close() error { return b.src.Close() }
