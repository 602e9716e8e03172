// Package wire holds the byte-level HTTP/1.1 helpers that the benchmark's
// raw client and origin share; they avoid allocating per request.
package wire

// HasPrefixFold reports whether s starts with the lower-case ASCII prefix.
func HasPrefixFold(s, prefix []byte) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p {
			return false
		}
	}
	return true
}

// ContainsFold reports whether s contains the lower-case ASCII token.
func ContainsFold(s, token []byte) bool {
	for i := 0; i+len(token) <= len(s); i++ {
		if HasPrefixFold(s[i:], token) {
			return true
		}
	}
	return false
}
