package credauth

import (
	"errors"

	"github.com/callgate/callgate/routing"
)

var (
	// ErrInvalidSpec: the auth block is inconsistent (two kinds, a missing
	// field, an invalid header name, …).
	ErrInvalidSpec = errors.New("invalid auth spec")
	// ErrSecretUnavailable: a secret file is missing, unreadable or empty,
	// or a secret environment variable is unset or empty.
	ErrSecretUnavailable = routing.ErrAuthSecretUnavailable
	// ErrBodyTooLarge: an aws_sigv4 request body is larger than
	// Options.MaxSignedBody and cannot be hashed for the signature.
	ErrBodyTooLarge = routing.ErrAuthBodyTooLarge
	// ErrTokenFetch: the OAuth 2.0 token endpoint did not issue a token.
	ErrTokenFetch = routing.ErrAuthTokenFetch
	// ErrAWSCredentials: the AWS SDK returned no signing credentials.
	ErrAWSCredentials = routing.ErrAuthCredentials
	// ErrClosed: Inject was called after Close.
	ErrClosed = errors.New("credential injector closed")
)
