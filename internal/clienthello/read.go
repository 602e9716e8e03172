// Package clienthello reads a TLS ClientHello off a client connection, and
// nothing after it, so a CONNECT tunnel can check the server name before it
// forwards a byte upstream (README, the request forms).
package clienthello

import (
	"fmt"
	"io"
)

const (
	recordHeaderLen    = 5
	handshakeHeaderLen = 4
	// maxPlaintext is the largest TLSPlaintext.length (RFC 8446 §5.1).
	maxPlaintext = 1 << 14

	recordTypeHandshake  = 0x16
	handshakeClientHello = 1

	// maxEmptyReads bounds how often a misbehaving reader may return
	// (0, nil) in a row before Read gives up, as bufio does.
	maxEmptyReads = 100
)

// DefaultMaxLen is the limit Read applies when maxLen <= 0: one full-size
// record and its header, which every ordinary ClientHello fits in.
const DefaultMaxLen = maxPlaintext + recordHeaderLen

// Read reads, from r, exactly the TLS records that carry the first handshake
// message and checks that it is a ClientHello. It never reads past the last
// of those records, so what the client sent after the hello stays in r (r
// may be a *bufio.Reader that already buffered it). The hello may arrive in
// any number of reads and be fragmented over several records.
//
// record is every byte read, to be forwarded upstream before anything else.
// On error it holds the bytes consumed so far (possibly none), which are
// lost to the peer unless the caller forwards them. sni is the host_name of
// the server_name extension (RFC 6066 §3), in lower case without a trailing
// dot, or "" when the hello carries none.
//
// maxLen caps the bytes read, headers included; maxLen <= 0 means
// DefaultMaxLen. Errors are ErrNotTLS, ErrNotClientHello, ErrTooLarge,
// ErrMalformed (all wrapped with context) or r's error, wrapped.
func Read(r io.Reader, maxLen int) (record []byte, sni string, err error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxLen
	}
	record, payload, err := readRecord(r, nil, maxLen, true)
	if err != nil {
		return record, "", err
	}
	if err := checkHandshakePrefix(payload); err != nil {
		return record, "", err
	}
	msg := payload
	if len(payload) < handshakeHeaderLen || len(payload) < handshakeHeaderLen+handshakeLen(payload) {
		// The message continues in further records (RFC 8446 §5.1 lets a
		// handshake message span records); gather the fragments.
		msg = make([]byte, len(payload), wantCap(payload, maxLen))
		copy(msg, payload)
		for len(msg) < handshakeHeaderLen || len(msg) < handshakeHeaderLen+handshakeLen(msg) {
			if len(msg) >= handshakeHeaderLen {
				// Fail before reading when the rest cannot fit: it needs
				// at least one more record header.
				rest := handshakeHeaderLen + handshakeLen(msg) - len(msg)
				if len(record)+recordHeaderLen+rest > maxLen {
					return record, "", fmt.Errorf("clienthello: message of %d bytes: %w", handshakeLen(msg), ErrTooLarge)
				}
			}
			record, payload, err = readRecord(r, record, maxLen, false)
			if err != nil {
				return record, "", err
			}
			msg = append(msg, payload...)
			if err := checkHandshakePrefix(msg); err != nil {
				return record, "", err
			}
		}
	}
	n := handshakeHeaderLen + handshakeLen(msg)
	if len(msg) != n {
		// A client may send nothing after its ClientHello until the
		// server answers, so trailing handshake bytes are a violation.
		return record, "", fmt.Errorf("clienthello: %d bytes after the ClientHello in its record: %w", len(msg)-n, ErrMalformed)
	}
	sni, err = parseClientHello(msg[handshakeHeaderLen:])
	if err != nil {
		return record, "", err
	}
	return record, sni, nil
}

// readRecord reads one record, appending header and payload to record, and
// returns the grown slice and the payload within it. first selects the
// ErrNotTLS check of the very first header; later headers that are not
// handshake records are ErrMalformed.
func readRecord(r io.Reader, record []byte, maxLen int, first bool) (grown, payload []byte, err error) {
	start := len(record)
	var hdr [recordHeaderLen]byte
	got, err := readHeader(r, hdr[:], first)
	if record == nil {
		// The usual hello is one record: allocate once when the header
		// says how long it is.
		size := recordHeaderLen
		if got == recordHeaderLen {
			size += int(hdr[3])<<8 | int(hdr[4])
		}
		record = make([]byte, 0, min(size, maxLen))
	}
	record = append(record, hdr[:got]...)
	if err != nil {
		return record, nil, err
	}
	n := int(hdr[3])<<8 | int(hdr[4])
	switch {
	case !first && hdr[0] != recordTypeHandshake:
		return record, nil, fmt.Errorf("clienthello: record type %#x inside the ClientHello: %w", hdr[0], ErrMalformed)
	case !first && hdr[1] != 3:
		return record, nil, fmt.Errorf("clienthello: record version %#02x%02x: %w", hdr[1], hdr[2], ErrMalformed)
	case n == 0:
		// RFC 8446 §5.1: zero-length handshake fragments are not allowed.
		return record, nil, fmt.Errorf("clienthello: empty handshake record: %w", ErrMalformed)
	case n > maxPlaintext:
		return record, nil, fmt.Errorf("clienthello: record length %d: %w", n, ErrMalformed)
	case len(record)+n > maxLen:
		return record, nil, fmt.Errorf("clienthello: record of %d bytes after %d: %w", n, start, ErrTooLarge)
	}
	record = grow(record, n)
	m, err := readFull(r, record[len(record):len(record)+n])
	record = record[:len(record)+m]
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return record, nil, fmt.Errorf("clienthello: read record: %w", err)
	}
	return record, record[len(record)-n:], nil
}

// readHeader reads a record header into hdr. For the first record it checks
// each byte as it arrives, so a client that sent "GET " or an SSLv2 hello is
// refused at once instead of waiting for five bytes that may never come.
func readHeader(r io.Reader, hdr []byte, first bool) (int, error) {
	got, empty := 0, 0
	for got < len(hdr) {
		n, err := r.Read(hdr[got:])
		got += n
		if first {
			if got >= 1 && hdr[0] != recordTypeHandshake {
				return got, fmt.Errorf("clienthello: first byte %#02x: %w", hdr[0], ErrNotTLS)
			}
			// Record versions are 3.0 (SSL 3) to 3.4; TLS 1.3 hellos say
			// 3.1 or 3.3 (RFC 8446 §5.1).
			if got >= 2 && hdr[1] != 3 || got >= 3 && hdr[2] > 4 {
				return got, fmt.Errorf("clienthello: record version %#02x%02x: %w", hdr[1], hdr[2], ErrNotTLS)
			}
		}
		if got == len(hdr) {
			return got, nil
		}
		if err != nil {
			if err == io.EOF && (got > 0 || !first) {
				err = io.ErrUnexpectedEOF
			}
			return got, fmt.Errorf("clienthello: read record header: %w", err)
		}
		if n == 0 {
			if empty++; empty >= maxEmptyReads {
				return got, fmt.Errorf("clienthello: read record header: %w", io.ErrNoProgress)
			}
		}
	}
	return got, nil
}

// readFull is io.ReadFull that gives up on a reader making no progress.
func readFull(r io.Reader, buf []byte) (int, error) {
	got, empty := 0, 0
	for got < len(buf) {
		n, err := r.Read(buf[got:])
		got += n
		if got == len(buf) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		if n == 0 {
			if empty++; empty >= maxEmptyReads {
				return got, io.ErrNoProgress
			}
		}
	}
	return got, nil
}

// checkHandshakePrefix checks what is known of the handshake message so far.
func checkHandshakePrefix(msg []byte) error {
	if len(msg) >= 1 && msg[0] != handshakeClientHello {
		return fmt.Errorf("clienthello: handshake type %d: %w", msg[0], ErrNotClientHello)
	}
	if len(msg) >= handshakeHeaderLen && handshakeLen(msg) == 0 {
		return fmt.Errorf("clienthello: empty ClientHello: %w", ErrMalformed)
	}
	return nil
}

// handshakeLen is the body length in a handshake header (needs 4 bytes).
func handshakeLen(msg []byte) int {
	return int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
}

// wantCap sizes the reassembly buffer of a fragmented message.
func wantCap(payload []byte, maxLen int) int {
	if len(payload) >= handshakeHeaderLen {
		return min(handshakeHeaderLen+handshakeLen(payload), maxLen)
	}
	return 512
}

// grow makes room for n more bytes after len(b).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}
