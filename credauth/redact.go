package credauth

import (
	"fmt"
)

const redactedText = "[REDACTED]"

// Redacted holds a secret value. Every way of printing or encoding it (fmt
// with any verb, JSON, text, zap) yields "[REDACTED]"; only Reveal returns
// the value. The zero value holds the empty secret.
//
// The value sits behind a pointer so that even reflection-based printing of
// a struct that embeds a Redacted in an unexported field (which bypasses
// methods) shows an address, not the secret.
type Redacted struct {
	p *string
}

// NewRedacted wraps s.
func NewRedacted(s string) Redacted { return Redacted{p: &s} }

// Reveal returns the secret. Call it only where the value is put on the wire.
func (r Redacted) Reveal() string {
	if r.p == nil {
		return ""
	}
	return *r.p
}

// String returns "[REDACTED]".
func (Redacted) String() string { return redactedText }

// GoString returns "[REDACTED]".
func (Redacted) GoString() string { return redactedText }

// Format writes "[REDACTED]" for every verb, so %x or %q cannot leak it.
func (Redacted) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redactedText)) }

// MarshalJSON encodes "[REDACTED]".
func (Redacted) MarshalJSON() ([]byte, error) { return []byte(`"` + redactedText + `"`), nil }

// MarshalText encodes "[REDACTED]" (YAML and other text encoders).
func (Redacted) MarshalText() ([]byte, error) { return []byte(redactedText), nil }
