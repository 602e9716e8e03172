// Package routing compiles named credentials into an immutable table that
// answers, without allocating, where a client's host:port is allowed to go.
package routing

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxHostLen is the longest DNS name (RFC 1035 §2.3.4) plus a trailing dot.
const maxHostLen = 254

// idnaProfile maps a client or config host to its ASCII (punycode) form the
// way browsers do (UTS #46 lookup), rejecting disallowed code points.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false), // allow '_' in internal names
)

// NormalizeHost returns host in the form the table is keyed by: ASCII,
// lower case, IDNA-mapped, without a trailing dot; an IPv6 literal loses its
// brackets and takes its canonical text form. It reports whether host is an
// IP literal in any spelling a resolver would accept (so "2130706433" and
// "0x7f.1" count as IP literals too).
func NormalizeHost(host string) (normalized string, isIP bool, err error) {
	if host == "" {
		return "", false, ErrEmptyHost
	}
	if len(host) > maxHostLen+2 {
		return "", false, fmt.Errorf("%w: %d bytes", ErrHostTooLong, len(host))
	}
	if host[0] == '[' {
		if host[len(host)-1] != ']' {
			return "", false, fmt.Errorf("%w: %q: unterminated '['", ErrBadHost, host)
		}
		addr, perr := netip.ParseAddr(host[1 : len(host)-1])
		if perr != nil || !addr.Is6() {
			return "", false, fmt.Errorf("%w: %q: not an IPv6 address", ErrBadHost, host)
		}
		return addr.String(), true, nil
	}
	if mayBeIPLiteral(host) {
		if addr, perr := netip.ParseAddr(host); perr == nil {
			addr = addr.Unmap()
			// An address already in canonical form is returned as is,
			// without building a new string.
			var buf [48]byte
			if string(addr.AppendTo(buf[:0])) == host {
				return host, true, nil
			}
			return addr.String(), true, nil
		}
	}
	h := strings.TrimSuffix(host, ".")
	if h == "" {
		return "", false, fmt.Errorf("%w: %q", ErrBadHost, host)
	}
	if hasEmptyLabel(h) {
		return "", false, fmt.Errorf("%w: %q: empty label", ErrBadHost, host)
	}
	if isSimpleLowerASCII(h) {
		if looksNumeric(h) {
			return h, true, nil
		}
		return h, false, nil
	}
	// Plain ASCII in mixed case only needs lowering; IDNA would give the
	// same name at several times the cost.
	if isSimpleASCII(h) {
		if lower := strings.ToLower(h); isSimpleLowerASCII(lower) {
			return lower, looksNumeric(lower), nil
		}
	}
	if !utf8.ValidString(h) {
		return "", false, fmt.Errorf("%w: %q: not UTF-8", ErrBadHost, host)
	}
	ascii, ierr := idnaProfile.ToASCII(h)
	if ierr != nil {
		return "", false, fmt.Errorf("%w: %q: %v", ErrBadHost, host, ierr)
	}
	// A label of only ignored code points (U+034F, U+200B, ...) maps to
	// nothing; it is an empty label, wherever it sits, as "a..b" is.
	if ascii == "" || hasEmptyLabel(ascii) {
		return "", false, fmt.Errorf("%w: %q: empty label after IDNA mapping", ErrBadHost, host)
	}
	if len(ascii) > maxHostLen || !isSimpleLowerASCII(strings.ReplaceAll(ascii, "xn--", "")) {
		return "", false, fmt.Errorf("%w: %q", ErrBadHost, host)
	}
	// The result must itself be a valid name: punycode that decodes to
	// disallowed code points is refused rather than passed on.
	if again, err := idnaProfile.ToASCII(ascii); err != nil || again != ascii {
		return "", false, fmt.Errorf("%w: %q: not a valid IDNA name", ErrBadHost, host)
	}
	return ascii, looksNumeric(ascii), nil
}

// hasEmptyLabel reports whether the non-empty name has a label with nothing
// in it: a dot at either end, or two in a row.
func hasEmptyLabel(name string) bool {
	return name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..")
}

// mayBeIPLiteral reports whether host has only the characters of an IP
// address, so names skip netip.ParseAddr (whose error allocates).
func mayBeIPLiteral(host string) bool {
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(isHex(c) || c == '.' || c == ':' || c == '%') {
			return false
		}
	}
	return true
}

// isSimpleLowerASCII reports whether h already is in normal form, so the hot
// path can skip IDNA mapping (which allocates).
func isSimpleLowerASCII(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return !strings.HasPrefix(h, "xn--") && !strings.Contains(h, ".xn--")
}

// isSimpleASCII is isSimpleLowerASCII's character test with upper case
// letters allowed.
func isSimpleASCII(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// looksNumeric reports whether the last label of a dotted name is numeric
// (decimal, octal or hex), which inet_aton-style resolvers treat as an IPv4
// address: "2130706433", "0x7f.1", "127.1" all reach 127.0.0.1.
func looksNumeric(h string) bool {
	last := h
	if i := strings.LastIndexByte(h, '.'); i >= 0 {
		last = h[i+1:]
	}
	if last == "" {
		return false
	}
	if len(last) > 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		for i := 2; i < len(last); i++ {
			if !isHex(last[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// SplitHostPort splits a request authority ("host", "host:port", "[v6]:port")
// without allocating. A missing port yields defaultPort; defaultPort 0 makes
// the port mandatory (as in a CONNECT target, RFC 9110 §9.3.6).
func SplitHostPort(authority string, defaultPort uint16) (host string, port uint16, err error) {
	if authority == "" {
		return "", 0, ErrEmptyHost
	}
	hostPart, portPart := authority, ""
	if authority[0] == '[' {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return "", 0, ErrBadAuthority
		}
		hostPart = authority[:end+1]
		rest := authority[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", 0, ErrBadAuthority
			}
			portPart = rest[1:]
			if portPart == "" {
				return "", 0, ErrBadPort
			}
		}
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		if strings.IndexByte(authority[:i], ':') >= 0 {
			return "", 0, ErrBadAuthority // bare IPv6 without brackets
		}
		hostPart, portPart = authority[:i], authority[i+1:]
		if portPart == "" {
			return "", 0, ErrBadPort
		}
	}
	if hostPart == "" {
		return "", 0, ErrEmptyHost
	}
	if portPart == "" {
		if defaultPort == 0 {
			return "", 0, ErrMissingPort
		}
		return hostPart, defaultPort, nil
	}
	p, perr := parsePort(portPart)
	if perr != nil {
		return "", 0, perr
	}
	return hostPart, p, nil
}

func parsePort(s string) (uint16, error) {
	if len(s) > 5 {
		return 0, ErrBadPort
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, ErrBadPort
		}
		n = n*10 + int(c-'0')
	}
	if n == 0 || n > 65535 {
		return 0, ErrBadPort
	}
	return uint16(n), nil
}

// JoinHostPort is net.JoinHostPort for a normalized host and numeric port.
func JoinHostPort(host string, port uint16) string {
	p := strconv.Itoa(int(port))
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]:" + p
	}
	return host + ":" + p
}
