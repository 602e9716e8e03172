package config

import (
	"math"
	"strings"
	"time"
)

// ProxyAuth is `proxy_auth:`: what a request that matches no client gets,
// and how failed authentication is throttled.
type ProxyAuth struct {
	// Required: 407 with a Proxy-Authenticate challenge; otherwise 403
	// not_permitted (setups that recognise clients by address only).
	Required bool
	Realm    string // the challenge's realm; never empty
	Throttle AuthThrottle
	// BcryptWait bounds the wait for a bcrypt slot; always positive.
	BcryptWait time.Duration
}

// AuthThrottle is `proxy_auth.throttle`: failure buckets per source
// address and per claimed user name.
type AuthThrottle struct {
	PerSource FailureRate
	PerUser   FailureRate
}

// FailureRate is one failure bucket; the zero value throttles nothing.
type FailureRate struct {
	FailuresPerSecond float64
	Burst             int // at least 1 when FailuresPerSecond is set
}

// DefaultAuthThrottle is proxy_auth.throttle when the file leaves it out.
// The per-user bucket is larger on both counts, so one source alone, held
// to its own bucket, can never empty a user's: locking a user out takes
// failures from several addresses at once.
var DefaultAuthThrottle = AuthThrottle{
	PerSource: FailureRate{FailuresPerSecond: 1, Burst: 10},
	PerUser:   FailureRate{FailuresPerSecond: 5, Burst: 30},
}

// DefaultBcryptWait is proxy_auth.bcrypt_wait when the file leaves it out.
const DefaultBcryptWait = time.Second

// maxBcryptWait keeps bcrypt_wait a bound: a login queued longer than
// this behind a flood is better refused and retried.
const maxBcryptWait = time.Minute

// proxyAuth checks `proxy_auth:`.
func (c *compiler) proxyAuth(pa rawProxyAuth) ProxyAuth {
	if pa.Realm == "" || strings.ContainsAny(pa.Realm, "\"\\") || !isPrintableASCII(pa.Realm) {
		c.errorf("proxy_auth.realm", ErrInvalid, "want printable ASCII without '\"' or '\\', got %q", pa.Realm)
	}
	if pa.BcryptWait <= 0 || pa.BcryptWait > maxBcryptWait {
		c.errorf("proxy_auth.bcrypt_wait", ErrInvalid, "must be positive and at most %s, got %s", maxBcryptWait, pa.BcryptWait)
	}
	return ProxyAuth{
		Required: pa.Required,
		Realm:    pa.Realm,
		Throttle: AuthThrottle{
			PerSource: c.failureRate("proxy_auth.throttle.per_source", pa.Throttle.PerSource),
			PerUser:   c.failureRate("proxy_auth.throttle.per_user", pa.Throttle.PerUser),
		},
		BcryptWait: pa.BcryptWait,
	}
}

// failureRate checks one failure bucket; a rate of 0 turns it off.
func (c *compiler) failureRate(key string, r rawFailureRate) FailureRate {
	switch {
	case r.FailuresPerSecond < 0 || math.IsNaN(r.FailuresPerSecond) || math.IsInf(r.FailuresPerSecond, 0):
		c.errorf(key+".failures_per_second", ErrInvalid, "must be a finite number, 0 or more (0 turns this throttle off)")
	case r.FailuresPerSecond == 0:
		return FailureRate{}
	case r.Burst < 1:
		c.errorf(key+".burst", ErrInvalid, "must be at least 1, got %d", r.Burst)
	}
	return FailureRate(r)
}
