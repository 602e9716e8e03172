package access

import "time"

// Kind is what a Denial asks of the client. The set is small and fixed
// because each Kind is one docs/refusals.md row in the proxy.
type Kind uint8

const (
	// ProxyAuthRequired: (re)send Proxy-Authorization; Challenge holds
	// the Proxy-Authenticate values.
	ProxyAuthRequired Kind = iota + 1
	// NotPermitted: the client, or a request without an identity, may
	// not use the named credential.
	NotPermitted
	// RateLimited: the client (or its source address) goes too fast;
	// RetryAfter says when a token is back.
	RateLimited
	// LimitReached: a concurrency limit is reached, or no bcrypt slot
	// was free in time (then RetryAfter is set: the other limits free at
	// no known time).
	LimitReached
)

func (k Kind) String() string {
	switch k {
	case ProxyAuthRequired:
		return "proxy_auth_required"
	case NotPermitted:
		return "not_permitted"
	case RateLimited:
		return "rate_limited"
	case LimitReached:
		return "limit_reached"
	}
	return "unknown"
}

// Denial is a refused access decision. It is an error so that a caller
// that only logs needs nothing else; functions return *Denial rather than
// error so that nil means allowed without an interface's typed-nil trap.
type Denial struct {
	Kind Kind
	// Message is for the client: it names the client and the named
	// credential, never a secret.
	Message string
	// RetryAfter is when trying again may succeed; 0 means unknown.
	RetryAfter time.Duration
	// Challenge are the Proxy-Authenticate values of a
	// ProxyAuthRequired. The slice is the Clients' own: copy it before
	// changing it.
	Challenge []string
}

func (d *Denial) Error() string { return d.Kind.String() + ": " + d.Message }
