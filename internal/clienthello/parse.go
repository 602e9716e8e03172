package clienthello

import (
	"fmt"
	"strings"
)

const (
	extServerName = 0 // RFC 6066 §3
	nameTypeHost  = 0
	maxSessionID  = 32
)

// reader is a bounds-checked cursor over a message; every getter reports
// false instead of panicking when the input is short.
type reader []byte

func (r *reader) u8() (int, bool) {
	if len(*r) < 1 {
		return 0, false
	}
	v := int((*r)[0])
	*r = (*r)[1:]
	return v, true
}

func (r *reader) u16() (int, bool) {
	if len(*r) < 2 {
		return 0, false
	}
	v := int((*r)[0])<<8 | int((*r)[1])
	*r = (*r)[2:]
	return v, true
}

func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || len(*r) < n {
		return nil, false
	}
	v := (*r)[:n]
	*r = (*r)[n:]
	return v, true
}

// vec8 and vec16 read a vector with a one- or two-byte length prefix.
func (r *reader) vec8() ([]byte, bool) {
	n, ok := r.u8()
	if !ok {
		return nil, false
	}
	return r.bytes(n)
}

func (r *reader) vec16() ([]byte, bool) {
	n, ok := r.u16()
	if !ok {
		return nil, false
	}
	return r.bytes(n)
}

func malformed(what string) error {
	return fmt.Errorf("clienthello: %s: %w", what, ErrMalformed)
}

// parseClientHello walks a ClientHello body (RFC 8446 §4.1.2, RFC 5246
// §7.4.1.2) and returns its host_name, normalised.
func parseClientHello(body []byte) (string, error) {
	r := reader(body)
	if major, ok := r.u8(); !ok || major != 3 {
		return "", malformed("legacy_version")
	}
	if _, ok := r.bytes(1 + 32); !ok { // minor version, random
		return "", malformed("random")
	}
	if sid, ok := r.vec8(); !ok || len(sid) > maxSessionID {
		return "", malformed("session_id")
	}
	if cs, ok := r.vec16(); !ok || len(cs) < 2 || len(cs)%2 != 0 {
		return "", malformed("cipher_suites")
	}
	if cm, ok := r.vec8(); !ok || len(cm) < 1 {
		return "", malformed("compression_methods")
	}
	if len(r) == 0 {
		return "", nil // an SSL 3 / early TLS hello without extensions
	}
	extBytes, ok := r.vec16()
	exts := reader(extBytes)
	if !ok || len(r) != 0 {
		return "", malformed("extensions length")
	}
	sni, seen := "", false
	for len(exts) > 0 {
		typ, ok1 := exts.u16()
		data, ok2 := exts.vec16()
		if !ok1 || !ok2 {
			return "", malformed("extension")
		}
		if typ != extServerName {
			continue
		}
		// RFC 8446 §4.2: an extension type appears at most once; a second
		// server_name could make us and the server read different names.
		if seen {
			return "", malformed("duplicate server_name extension")
		}
		seen = true
		var err error
		if sni, err = parseServerName(data); err != nil {
			return "", err
		}
	}
	return sni, nil
}

// parseServerName reads a server_name extension body (RFC 6066 §3).
func parseServerName(data reader) (string, error) {
	listBytes, ok := data.vec16()
	list := reader(listBytes)
	if !ok || len(data) != 0 || len(list) == 0 {
		return "", malformed("server_name list length")
	}
	var host []byte
	for len(list) > 0 {
		typ, ok1 := list.u8()
		name, ok2 := list.vec16()
		if !ok1 || !ok2 {
			return "", malformed("server_name entry")
		}
		if typ != nameTypeHost {
			continue // RFC 6066 leaves room for other name types
		}
		if host != nil {
			return "", malformed("two host_name entries")
		}
		if len(name) == 0 {
			return "", malformed("empty host_name")
		}
		host = name
	}
	if host == nil {
		return "", nil
	}
	return normalizeHost(host)
}

// normalizeHost lower-cases an ASCII host_name and drops a trailing dot, the
// form routing compares hosts in. Bytes outside printable ASCII (controls,
// spaces, raw UTF-8) are refused: RFC 6066 wants A-labels, and such bytes
// must not reach logs or comparisons.
func normalizeHost(h []byte) (string, error) {
	if h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	if len(h) == 0 {
		return "", malformed("host_name is only a dot")
	}
	var b strings.Builder
	b.Grow(len(h))
	for _, c := range h {
		if c <= ' ' || c >= 0x7f {
			return "", malformed(fmt.Sprintf("host_name byte %#02x", c))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
