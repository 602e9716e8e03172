package proxy

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

// The pipeline is the one place the request forms' rules live. Every
// request passes its steps in this order and stops at the first refusal:
//
//	form → route → method → client → limits → base path → gate → address
//
// ServeHTTP runs it and then carries what it admitted (a tunnel, or a
// request sent on the engine's client); Explain runs it without sending
// anything, recording each step. It does not know which engine read the
// request or will send it.

// pass is one request going through the pipeline.
type pass struct {
	r    *http.Request
	st   *state
	sum  *summary
	form form
	// callout is the escaped /callout/ path (the callout form).
	callout string

	// Set as the steps pass.
	d    *routing.Destination
	adm  connstate.Admission
	addr string // the endpoint address to dial
	// path and decoded are the upstream path, escaped and decoded
	// (absolute and callout forms).
	path, decoded string

	// x records the steps for Explain; nil on the data plane, which then
	// builds none of the explanations.
	x *explainer
	// asClient, in an Explain, names the client to explain for.
	asClient string
}

// formOf tells which request form r is; the callout form's escaped path
// comes with it.
func (s *Server) formOf(r *http.Request) (form, string) {
	if r.Method == http.MethodConnect {
		return formConnect, ""
	}
	if c := s.calloutTarget(r); c != "" {
		return formCallout, c
	}
	if r.URL.IsAbs() {
		return formAbsolute, ""
	}
	return formOther, ""
}

// run applies the rules to p; nil means the request may be carried, to
// p.addr.
func (s *Server) run(p *pass) *refusal {
	p.x.enter(stepRoute)
	if f := s.route(p); f != nil {
		return f
	}
	if p.x != nil {
		p.x.pass(stepRoute, "named credential "+p.d.Name+" ("+p.d.Scheme.String()+"://"+p.d.HostPort+p.d.BasePath+"), outbound connection "+p.d.Connection)
	}
	p.x.enter(stepMethod)
	if p.form == formCallout && p.r.Method == http.MethodTrace {
		// RFC 9110 §9.3.8: TRACE echoes the request it received, and on
		// this form that request carries the credential callgate
		// injects; the client must never see it.
		return &refusal{code: CodeMethodNotAllowed, dest: p.d, connection: p.d.Connection,
			message: "TRACE is not allowed on the callout form: its response would carry the injected credential back"}
	}
	if p.x != nil {
		p.x.pass(stepMethod, p.r.Method+" is allowed on the "+p.form.String()+" form")
	}
	p.x.enter(stepClient)
	if f := s.checkAccess(p); f != nil {
		return f
	}
	p.x.enter(stepPath)
	if f := s.checkPath(p); f != nil {
		return f
	}
	p.x.enter(stepGate)
	adm, f := s.admit(p.d)
	if f != nil {
		return f
	}
	p.adm = adm
	if p.x != nil {
		p.x.pass(stepGate, "outbound connection "+p.d.Connection+" is Ready and warm")
	}
	p.addr = p.st.dest(p.d).endpointAddr(adm.Endpoint, p.d)
	if p.x != nil {
		p.x.pass(stepAddress, s.describeAddress(p))
	}
	return nil
}

// route finds the named credential the request is for, and checks that
// the form fits its scheme.
func (s *Server) route(p *pass) *refusal {
	r, st, sum := p.r, p.st, p.sum
	switch p.form {
	case formConnect:
		d, f := s.routeAuthority(r.Host, 0, st, sum)
		p.d = d
		return f
	case formCallout:
		name, rest, err := parseCalloutPath(p.callout)
		if err != nil {
			return badRequest(nil, "the callout path must be /callout/{NamedCredential}/{path} without '.', '..' or encoded '/' segments", err)
		}
		d := st.snap.Routes.ByName(name)
		if d == nil {
			if p.x != nil {
				p.x.suggest(st.snap.Routes, name)
			}
			return unknownDestination("no named credential has that name")
		}
		sum.bind(st, d)
		p.d = d
		escaped := joinCalloutPath(d.BasePath, rest)
		decoded, err := url.PathUnescape(escaped)
		if err != nil { // parseCalloutPath checked every escape; keep the guard
			return badRequest(d, "the callout path is not validly escaped", err)
		}
		p.path, p.decoded = escaped, decoded
		return nil
	}
	var defaultPort uint16
	switch strings.ToLower(r.URL.Scheme) {
	case "http":
		defaultPort = 80
	case "https":
		defaultPort = 443
	default:
		return badRequest(nil, "absolute-form requests must use http:// URLs", nil)
	}
	d, f := s.routeAuthority(r.URL.Host, defaultPort, st, sum)
	if f != nil {
		if p.x != nil && f.code == CodeUnknownDestination {
			p.x.suggest(st.snap.Routes, r.URL.Hostname())
		}
		return f
	}
	p.d = d
	switch {
	case d.Scheme != routing.HTTP:
		return &refusal{code: CodeUnknownDestination, dest: d, connection: d.Connection,
			message: "named credential " + d.Name + " is https: use CONNECT (HTTPS_PROXY) or /callout/" + d.Name + "/"}
	case defaultPort != 80:
		return &refusal{code: CodeUnknownDestination, dest: d, connection: d.Connection,
			message: "named credential " + d.Name + " is http: send an http:// URL"}
	}
	return nil
}

// checkAccess identifies the client, checks it may use the credential,
// and takes its limit slots (an Explain only reports the limits).
func (s *Server) checkAccess(p *pass) *refusal {
	if p.x == nil {
		return s.access(p.r, p.st, p.d, p.sum)
	}
	c, f := s.explainClient(p)
	if f != nil {
		return f
	}
	switch {
	case c != nil:
		p.x.pass(stepClient, "client "+c.Name()+" is permitted to use "+p.d.Name)
	default:
		p.x.pass(stepClient, "no client list is configured: every client may use every named credential")
	}
	p.x.note(stepLimits, describeLimits(&p.st.snap.Limits, p.form == formConnect))
	return nil
}

// checkPath keeps an absolute-form request under its credential's base
// path, as the callout form is by construction.
func (s *Server) checkPath(p *pass) *refusal {
	if p.form != formAbsolute {
		if p.x != nil && p.form == formCallout {
			p.x.pass(stepPath, "the callout form appends the path to the base path: "+p.path)
		}
		return nil
	}
	r, d := p.r, p.d
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	path, ok := withinBasePath(d.BasePath, path)
	if !ok {
		return &refusal{code: CodeNotPermitted, dest: d, connection: d.Connection,
			message: "the path is outside named credential " + d.Name + "'s base path " + d.BasePath}
	}
	decoded := r.URL.Path
	if d.BasePath != "" {
		var err error
		if decoded, err = url.PathUnescape(path); err != nil { // withinBasePath decoded every segment
			return badRequest(d, "the path is not validly escaped", err)
		}
	}
	p.path, p.decoded = path, decoded
	if p.x != nil {
		p.x.pass(stepPath, "the path "+path+" is under the base path "+orRoot(d.BasePath))
	}
	return nil
}

func orRoot(base string) string {
	if base == "" {
		return "/"
	}
	return base
}

// describeAddress says where the request would go and with what
// credential (names only, never a value).
func (s *Server) describeAddress(p *pass) string {
	msg := "dial " + p.addr
	if host, _, err := net.SplitHostPort(p.addr); err == nil {
		if name, _, err := routing.NormalizeHost(host); err == nil {
			if ip, ok := p.st.snap.Resolve.Lookup(name); ok {
				msg += " (resolve: " + ip + ")"
			}
		}
	}
	if p.d.Scheme == routing.HTTPS && p.form != formConnect {
		msg += ", TLS verified for " + p.d.Host
	}
	return msg
}

// describeLimits states the limits in force for one request or tunnel.
func describeLimits(l *access.Limits, tunnel bool) string {
	what, global, per := "requests", l.MaxRequests, l.MaxRequestsPerCredential
	if tunnel {
		what, global, per = "tunnels", l.MaxTunnels, l.MaxTunnelsPerCredential
	}
	parts := []string{"open " + what + ": " + limitText(global) + " in all, " + limitText(per) + " per named credential"}
	if l.ClientRate.PerSecond > 0 {
		parts = append(parts, "client rate "+strconv.FormatFloat(l.ClientRate.PerSecond, 'f', -1, 64)+"/s, burst "+strconv.Itoa(l.ClientRate.Burst))
	}
	return strings.Join(parts, "; ")
}

func limitText(n int64) string {
	if n <= 0 {
		return "no limit"
	}
	return strconv.FormatInt(n, 10)
}
