package routing

import "errors"

// Sentinel errors of host and authority parsing; check them with errors.Is.
var (
	// ErrEmptyHost: the authority or URL names no host.
	ErrEmptyHost = errors.New("empty host")
	// ErrHostTooLong: the host exceeds the 253-byte DNS limit.
	ErrHostTooLong = errors.New("host too long")
	// ErrBadHost: the host is not a valid DNS name or IP literal.
	ErrBadHost = errors.New("invalid host")
	// ErrBadAuthority: the authority is not host[:port] or [v6][:port].
	ErrBadAuthority = errors.New("invalid authority")
	// ErrBadPort: the port is not a decimal number in 1..65535.
	ErrBadPort = errors.New("invalid port")
	// ErrMissingPort: a port is required here (CONNECT) but absent.
	ErrMissingPort = errors.New("missing port")
	// ErrBadURL: a named credential's URL is not http(s)://host[:port][/path].
	ErrBadURL = errors.New("invalid named credential url")
	// ErrDuplicateDestination: two named credentials share host and port.
	ErrDuplicateDestination = errors.New("duplicate destination")
	// ErrDuplicateName: two named credentials share a name.
	ErrDuplicateName = errors.New("duplicate named credential name")
)

// ErrIPLiteral: the client named an IP address (in any spelling) instead of
// a host; named credentials never match one.
var ErrIPLiteral = errors.New("ip literal destinations are not allowed")

// Failures an Injector reports, wrapped with context; the proxy maps each
// to a response. They live here, beside Injector, so the proxy can
// classify them without importing an implementation (credauth pulls in the
// AWS SDK, which the data plane must not).
var (
	// ErrAuthBodyTooLarge: the request body is too large for the injector
	// to sign (aws_sigv4 hashes the whole payload).
	ErrAuthBodyTooLarge = errors.New("request body too large to sign")
	// ErrAuthTokenFetch: an OAuth 2.0 token endpoint issued no token.
	ErrAuthTokenFetch = errors.New("oauth2 token request failed")
	// ErrAuthCredentials: no AWS credentials were available for signing.
	ErrAuthCredentials = errors.New("aws credentials unavailable")
	// ErrAuthSecretUnavailable: a secret file or variable is missing,
	// unreadable or empty.
	ErrAuthSecretUnavailable = errors.New("secret unavailable")
)
