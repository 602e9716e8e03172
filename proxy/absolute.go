package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/callgate/callgate/routing"
)

// serveAbsolute forwards an absolute-form request the pipeline admitted
// (`GET http://host/path`, for an http named credential) as an HTTP_PROXY
// client expects. An https named credential is reached with CONNECT
// (end-to-end TLS) or the callout form (callgate originates TLS), never in
// the clear: the pipeline refused it.
func (s *Server) serveAbsolute(w http.ResponseWriter, p *pass) {
	r := p.r
	outreq := newOutRequest(r, &url.URL{
		Scheme:   "http",
		Host:     p.addr,
		Path:     p.decoded,
		RawPath:  rawPathIfNeeded(p.decoded, p.path),
		RawQuery: r.URL.RawQuery,
	}, p.d)
	s.exchange(w, r, outreq, p.st, p.d, p.adm.Revoked, p.sum, nil)
}

// rawPathIfNeeded keeps the client's escaping when it differs from the
// default one (e.g. an encoded "/"), so the endpoint sees the same path.
func rawPathIfNeeded(path, escaped string) string {
	if (&url.URL{Path: path}).EscapedPath() == escaped {
		return ""
	}
	return escaped
}

// newOutRequest builds the upstream request: the client's method, headers
// minus hop-by-hop and Proxy-* fields, body (streamed), and the named
// credential's host as Host. u carries the endpoint address (chosen by
// callgate) as its host, which the transport dials.
func newOutRequest(r *http.Request, u *url.URL, d *routing.Destination) *http.Request {
	if u.Path == "" {
		u.Path = "/"
	}
	out := &http.Request{
		Method:        r.Method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, len(r.Header)+1),
		Host:          hostHeader(d),
		ContentLength: r.ContentLength,
	}
	copyEndToEnd(out.Header, r.Header)
	addVia(out.Header, r.ProtoMajor, r.ProtoMinor)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		out.Body = r.Body
	}
	// Request trailers are never forwarded: they would arrive after the
	// header rules ran (Proxy-Authorization, the client's Authorization,
	// a field the credential injects), and net/http gives no hook between
	// reading them and sending them on.
	return out
}

// hostHeader is the credential's host as a Host field: the port only when
// it is not the scheme's default.
func hostHeader(d *routing.Destination) string {
	if (d.Scheme == routing.HTTP && d.Port == 80) || (d.Scheme == routing.HTTPS && d.Port == 443) {
		if strings.IndexByte(d.Host, ':') >= 0 {
			return "[" + d.Host + "]"
		}
		return d.Host
	}
	return d.HostPort
}
