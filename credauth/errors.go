package credauth

import "errors"

var (
	// ErrInvalidSpec: the auth block is inconsistent (two kinds, a missing
	// field, an invalid header name, …).
	ErrInvalidSpec = errors.New("invalid auth spec")
	// ErrSecretUnavailable: a secret file is missing, unreadable or empty,
	// or a secret environment variable is unset or empty.
	ErrSecretUnavailable = errors.New("secret unavailable")
	// ErrBodyTooLarge: an aws_sigv4 request body is larger than
	// Options.MaxSignedBody and cannot be hashed for the signature.
	ErrBodyTooLarge = errors.New("request body too large to sign")
	// ErrTokenFetch: the OAuth 2.0 token endpoint did not issue a token.
	ErrTokenFetch = errors.New("oauth2 token request failed")
	// ErrAWSCredentials: the AWS SDK returned no signing credentials.
	ErrAWSCredentials = errors.New("aws credentials unavailable")
	// ErrClosed: Inject was called after Close.
	ErrClosed = errors.New("credential injector closed")
)
