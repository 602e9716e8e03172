package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/callgate/callgate/routing"
)

// serveAbsolute forwards an absolute-form request (`GET http://host/path`,
// SPEC §2.2) to an http named credential, as an HTTP_PROXY client expects.
// An https named credential must be reached with CONNECT (end-to-end TLS)
// or the callout form (callgate originates TLS), never in the clear.
func (s *Server) serveAbsolute(w http.ResponseWriter, r *http.Request, st *state, sum *summary) {
	var defaultPort uint16
	switch strings.ToLower(r.URL.Scheme) {
	case "http":
		defaultPort = 80
	case "https":
		defaultPort = 443
	default:
		s.refuse(w, sum, badRequest(nil, "absolute-form requests must use http:// URLs", nil), false)
		return
	}
	d, f := s.routeAuthority(r.URL.Host, defaultPort, st, sum)
	if f != nil {
		s.refuse(w, sum, f, false)
		return
	}
	switch {
	case d.Scheme != routing.HTTP:
		s.refuse(w, sum, &refusal{code: CodeUnknownDestination, dest: d, connection: d.Connection,
			message: "named credential " + d.Name + " is https: use CONNECT (HTTPS_PROXY) or /callout/" + d.Name + "/"}, false)
		return
	case defaultPort != 80:
		s.refuse(w, sum, &refusal{code: CodeUnknownDestination, dest: d, connection: d.Connection,
			message: "named credential " + d.Name + " is http: send an http:// URL"}, false)
		return
	}
	if f := s.access(r, st, d, sum); f != nil {
		s.refuse(w, sum, f, false)
		return
	}
	var err error
	// A named credential is its URL: the path stays under its base path,
	// as on the callout form.
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	path, ok := withinBasePath(d.BasePath, path)
	if !ok {
		s.refuse(w, sum, &refusal{code: CodeNotPermitted, dest: d, connection: d.Connection,
			message: "the path is outside named credential " + d.Name + "'s base path " + d.BasePath}, false)
		return
	}
	decoded := r.URL.Path
	if d.BasePath != "" {
		if decoded, err = url.PathUnescape(path); err != nil { // withinBasePath decoded every segment
			s.refuse(w, sum, badRequest(d, "the path is not validly escaped", err), false)
			return
		}
	}
	adm, f := s.admit(d)
	if f != nil {
		s.refuse(w, sum, f, false)
		return
	}
	outreq := newOutRequest(r, &url.URL{
		Scheme:   "http",
		Host:     st.dest(d).endpointAddr(adm.Endpoint, d),
		Path:     decoded,
		RawPath:  rawPathIfNeeded(decoded, path),
		RawQuery: r.URL.RawQuery,
	}, d)
	s.exchange(w, r, outreq, st, d, adm.Revoked, sum)
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
