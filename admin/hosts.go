package admin

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// hostPolicy says which Host header values name the admin listener. A web
// page that rebinds its own DNS name to the listener's address makes the
// browser send that name as Host, so refusing names the operator did not
// configure keeps pages off the API, reads included.
type hostPolicy struct {
	port   string     // the port the listener is bound to
	ip     netip.Addr // the address it is bound to; unspecified for 0.0.0.0 and [::]
	listen string     // listen.admin's host when it is a name, lower case
	names  func() []string
}

func newHostPolicy(bound net.Addr, listenHost string, names func() []string) (*hostPolicy, error) {
	if bound == nil {
		return nil, fmt.Errorf("admin: Options.Addr is required: the Host check needs the listener's address")
	}
	h, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return nil, fmt.Errorf("admin: listener address %q: %w", bound, err)
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return nil, fmt.Errorf("admin: listener address %q is not an IP address and port: %w", bound, err)
	}
	p := &hostPolicy{port: port, ip: ip.Unmap(), names: names}
	if l := normalName(listenHost); l != "" {
		if _, err := netip.ParseAddr(l); err != nil {
			p.listen = l
		}
	}
	return p, nil
}

// accepts reports whether hostport (a Host header, or the host of an
// Origin) names this listener. defaultPort stands in when it has none.
func (p *hostPolicy) accepts(hostport, defaultPort string) bool {
	host, port, ok := splitHost(hostport)
	if !ok {
		return false
	}
	if port == "" {
		port = defaultPort
	}
	host = normalName(host)
	if p.listed(host, port) {
		return true
	}
	if port != p.port {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		// No page can make a browser send an IP literal it does not serve
		// from, so on a wildcard listener any address of the host will do:
		// the kubelet and Prometheus name the pod IP.
		ip = ip.Unmap()
		return p.ip.IsUnspecified() || ip == p.ip || ip.IsLoopback() && p.ip.IsLoopback()
	}
	if host == "localhost" {
		// Browsers resolve localhost to loopback themselves; no page can
		// rebind it.
		return p.ip.IsLoopback() || p.ip.IsUnspecified()
	}
	return p.listen != "" && host == p.listen
}

// listed reports whether admin.hosts names host: an entry without a port
// matches any port.
func (p *hostPolicy) listed(host, port string) bool {
	if p.names == nil {
		return false
	}
	for _, e := range p.names() {
		eh, ep, ok := splitHost(e)
		if !ok || ep != "" && ep != port {
			continue
		}
		if sameHost(normalName(eh), host) {
			return true
		}
	}
	return false
}

// expected tells a refused client what would have been accepted.
func (p *hostPolicy) expected() string {
	switch {
	case p.ip.IsUnspecified():
		return "an IP address of this host with port " + p.port + ", or localhost:" + p.port
	case p.ip.IsLoopback():
		return "localhost:" + p.port + ", 127.0.0.1:" + p.port + " or [::1]:" + p.port
	}
	s := net.JoinHostPort(p.ip.String(), p.port)
	if p.listen != "" {
		s += " or " + net.JoinHostPort(p.listen, p.port)
	}
	return s
}

// splitHost splits "host", "host:port", "[v6]" or "[v6]:port"; a bare
// IPv6 address or an empty host is refused.
func splitHost(hostport string) (host, port string, ok bool) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p, h != ""
	}
	if len(hostport) > 2 && hostport[0] == '[' && hostport[len(hostport)-1] == ']' {
		return hostport[1 : len(hostport)-1], "", true
	}
	if hostport == "" || strings.ContainsAny(hostport, ":[]") {
		return "", "", false
	}
	return hostport, "", true
}

// normalName lower-cases a name and drops a trailing dot, as DNS does.
func normalName(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// sameHost compares IP literals as addresses, names as strings.
func sameHost(a, b string) bool {
	ia, errA := netip.ParseAddr(a)
	ib, errB := netip.ParseAddr(b)
	if errA == nil && errB == nil {
		return ia.Unmap() == ib.Unmap()
	}
	return a == b
}
