package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// calloutPrefix starts the origin-form callout requests (README, the request forms).
const calloutPrefix = "/callout/"

// calloutMethods is the Allow field of the callout form's 405: every
// method but TRACE may pass (unknown ones too); these are the standard
// ones.
const calloutMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

// serveCallout carries a `/callout/{Name}/{path…}` request the pipeline
// admitted: callgate makes the call to the named credential's URL + path
// itself, originating TLS for https credentials (verified against the
// credential's host) and injecting the credential's authentication.
func (s *Server) serveCallout(w http.ResponseWriter, p *pass) {
	r, st, sum, d := p.r, p.st, p.sum, p.d
	outreq := newOutRequest(r, &url.URL{
		Scheme:   d.Scheme.String(),
		Host:     p.addr,
		Path:     p.decoded,
		RawPath:  rawPathIfNeeded(p.decoded, p.path),
		RawQuery: r.URL.RawQuery,
	}, d)
	var guard *reflectGuard
	if d.Auth != nil {
		// What the client sent, to tell what Inject adds.
		sent := outreq.Header.Clone()
		// The Injector decides whether the client's Authorization stays
		// (pass_client_authorization); newOutRequest already dropped the
		// Proxy-* and hop-by-hop fields.
		outreq = outreq.WithContext(r.Context())
		var body *injectBody
		if outreq.Body != nil {
			// aws_sigv4 reads the whole body to hash it, before the
			// exchange's idle watchdog runs: bound that read, and note
			// whether the client's body is what failed.
			body = &injectBody{ReadCloser: outreq.Body}
			outreq.Body = body
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.t.IdleTunnel))
		}
		err := d.Auth.Inject(outreq)
		if body != nil {
			_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		}
		switch {
		case err == nil:
		case errClientGone(r, err):
			sum.outcome, sum.status, sum.err = OutcomeClientGone, 499, err
			return
		case body != nil && body.err != nil:
			s.refuse(w, sum, badRequest(d, "the request body is malformed, ended early or was not sent in time", err), false)
			return
		default:
			s.refuse(w, sum, injectRefusal(d, err), false)
			return
		}
		guard = newReflectGuard(sent, outreq.Header)
	}
	s.exchange(w, r, outreq, st, d, p.adm.Revoked, sum, guard)
}

// injectBody remembers a read failure of the client's body during Inject,
// so that it is blamed on the client rather than on the credential. Inject
// runs on the handler goroutine, so no synchronisation is needed.
type injectBody struct {
	io.ReadCloser
	err error
}

func (b *injectBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// parseCalloutPath splits an escaped request path "/callout/{Name}[/rest]"
// into the decoded credential name and the rest, still escaped and
// cleaned: empty segments dropped (a trailing slash kept), and an error
// for any segment that could leave the base path once some server decodes
// it — ".", "..", their encodings and ";param" forms ("..;"), an encoded
// "/" or "\", control characters — or that is not valid RFC 3986 pchar.
func parseCalloutPath(escaped string) (name, rest string, err error) {
	if !strings.HasPrefix(escaped, calloutPrefix) {
		return "", "", fmt.Errorf("%w: not under %s", ErrBadCalloutPath, calloutPrefix)
	}
	p := escaped[len(calloutPrefix):]
	rawName, tail, _ := strings.Cut(p, "/")
	name, err = checkSegment(rawName)
	if err != nil {
		return "", "", err
	}
	if name == "" {
		return "", "", fmt.Errorf("%w: no named credential", ErrBadCalloutPath)
	}
	if len(p) == len(rawName) {
		return name, "", nil // "/callout/Name"
	}
	var b strings.Builder
	b.Grow(len(tail) + 1)
	segs := strings.Split(tail, "/")
	for i, seg := range segs {
		dec, err := checkSegment(seg)
		if err != nil {
			return "", "", err
		}
		if dec == "" {
			if i == len(segs)-1 {
				b.WriteByte('/') // trailing slash: the endpoint may care
			}
			continue
		}
		b.WriteByte('/')
		b.WriteString(seg)
	}
	rest = b.String()
	if rest == "" {
		rest = "/"
	}
	// "/callout/Name//" and "/callout/Name/" both mean the base path + "/".
	for strings.HasSuffix(rest, "//") {
		rest = rest[:len(rest)-1]
	}
	return name, rest, nil
}

// checkSegment validates one escaped path segment and returns it decoded.
func checkSegment(seg string) (string, error) {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return "", fmt.Errorf("%w: bad percent-escape", ErrBadCalloutPath)
			}
			i += 2
			continue
		}
		if !isPChar(c) {
			return "", fmt.Errorf("%w: byte %#02x not allowed in a path", ErrBadCalloutPath, c)
		}
	}
	dec, err := url.PathUnescape(seg)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadCalloutPath, err)
	}
	for i := 0; i < len(dec); i++ {
		if c := dec[i]; c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("%w: encoded separator or control character", ErrBadCalloutPath)
		}
	}
	// Some servers drop ";params" before resolving dot segments (Tomcat
	// reads "..;" as "..").
	base, _, _ := strings.Cut(dec, ";")
	if base == "." || base == ".." {
		return "", fmt.Errorf("%w: dot segment", ErrBadCalloutPath)
	}
	return dec, nil
}

// joinCalloutPath appends the cleaned rest to the credential's escaped
// base path.
func joinCalloutPath(base, rest string) string {
	switch {
	case rest == "" && base == "":
		return "/"
	case rest == "":
		return base
	}
	return base + rest
}

// isPChar reports whether c may appear unescaped in a path segment
// (RFC 3986 §3.3: unreserved, sub-delims, ':' and '@').
func isPChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
