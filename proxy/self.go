package proxy

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/callgate/callgate/routing"
)

// selfAddr knows the proxy listener's own names and ports, so that an
// absolute-form request for callgate itself — what a client with
// HTTP_PROXY set sends for http://callgate:3128/callout/Name/… — is served
// as the callout form instead of refused as an unknown destination.
type selfAddr struct {
	// names holds the configured names, "host" (at any listener port) or
	// "host:port".
	names map[string]bool
}

func newSelfAddr(names []string) selfAddr {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return selfAddr{names: m}
}

// is reports whether u's authority is the proxy listener itself: a
// configured host:port, or localhost, an IP address or a configured host
// at the port of a listener Serve accepts on.
func (s *Server) isSelf(u *url.URL) bool {
	if !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	name, isIP, err := routing.NormalizeHost(u.Hostname())
	if err != nil {
		return false
	}
	if isIP && strings.IndexByte(name, ':') >= 0 {
		name = "[" + name + "]"
	}
	if s.self.names[name+":"+port] {
		return true
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || !s.servesPort(uint16(p)) {
		return false
	}
	return isIP || name == "localhost" || s.self.names[name]
}

// servesPort reports whether a listener Serve runs on has port p.
func (s *Server) servesPort(p uint16) bool {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	return s.ports[p] > 0
}

// calloutTarget is r's escaped path when r is the callout form — origin
// form, or absolute form for callgate itself — and "" otherwise. It is the
// raw request target, not r.URL.Path: the decoded path has already turned
// "%2F" into "/" and "%2e%2e" into "..".
func (s *Server) calloutTarget(r *http.Request) string {
	raw := r.RequestURI
	if r.URL.IsAbs() {
		if !strings.HasPrefix(r.URL.Path, calloutPrefix) || !s.isSelf(r.URL) {
			return ""
		}
		// Past "scheme://authority".
		rest := raw[strings.Index(raw, "://")+3:]
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return ""
		}
		raw = rest[i:]
	} else if !strings.HasPrefix(r.URL.Path, calloutPrefix) || r.URL.Host != "" {
		return ""
	}
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	return raw
}
