package clienthello

import "errors"

// Sentinel errors of Read; check them with errors.Is. I/O errors of the
// reader (io.EOF before the first byte, io.ErrUnexpectedEOF on a truncated
// hello, a deadline) are returned wrapped as they are, not mapped to these.
var (
	// ErrNotTLS: the first bytes are not a TLS handshake record header
	// (content type 0x16, version 3.x): plain HTTP, an SSLv2-style hello,
	// or anything else.
	ErrNotTLS = errors.New("not a TLS handshake record")
	// ErrNotClientHello: a TLS handshake record whose first message is not
	// a ClientHello.
	ErrNotClientHello = errors.New("first handshake message is not a ClientHello")
	// ErrTooLarge: the records carrying the ClientHello would exceed the
	// caller's limit.
	ErrTooLarge = errors.New("ClientHello exceeds the size limit")
	// ErrMalformed: a length, count or field of the records or of the
	// ClientHello is inconsistent or out of range.
	ErrMalformed = errors.New("malformed ClientHello")
)
