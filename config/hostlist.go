package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/callgate/callgate/routing"
)

// hostList checks a list of names callgate answers to (admin.hosts,
// listen.names) and returns each entry normalised: a name lower case
// without a trailing dot (IDNA-mapped), an IP address in its canonical
// form, IPv6 in brackets, then ":port" when one was given.
func (c *compiler) hostList(listKey string, hosts []string) []string {
	if len(hosts) == 0 || !c.complete(listKey, len(hosts)) {
		return nil
	}
	out := make([]string, 0, len(hosts))
	seen := make(map[string]bool, len(hosts))
	for i, e := range hosts {
		key := fmt.Sprintf("%s[%d]", listKey, i)
		n, err := hostEntry(e)
		if err != nil {
			c.errorf(key, ErrInvalid, "%q: %v", e, err)
			continue
		}
		if seen[n] {
			c.errorf(key, ErrDuplicate, "%q is listed twice", e)
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

// hostEntry normalises one entry of a host list: "host" or "host:port".
func hostEntry(e string) (string, error) {
	if strings.Contains(e, "/") {
		return "", fmt.Errorf("want a host or host:port, not a URL")
	}
	host, port := e, ""
	if h, p, err := net.SplitHostPort(e); err == nil {
		host, port = h, p
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return "", fmt.Errorf("port %q is not a number in 1..65535", p)
		}
	} else if strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]") {
		host = e[1 : len(e)-1]
	}
	if host == "" || strings.ContainsAny(host, "*[] ") {
		return "", fmt.Errorf("want a host or host:port (no wildcards)")
	}
	n, isIP, err := routing.NormalizeHost(host)
	if err != nil {
		return "", fmt.Errorf("not an IP address or DNS name")
	}
	if isIP {
		// A browser sends an address in its canonical form, so
		// "2130706433" or "0x7f.1" would never match.
		a, err := netip.ParseAddr(host)
		if err != nil {
			return "", fmt.Errorf("write the IP address in its usual form, like 10.0.0.5 or [fd00::5]")
		}
		n = a.Unmap().String()
		if a.Unmap().Is6() {
			n = "[" + n + "]"
		}
	}
	if port != "" {
		n = strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")
		n = net.JoinHostPort(n, port)
	}
	return n, nil
}
