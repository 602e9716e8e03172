package clienthello

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const trailer = "\x17\x03\x03\x00\x05early" // what must stay unread

// readModes feed the same bytes to Read in the ways a proxy can.
var readModes = []struct {
	name string
	wrap func([]byte) io.Reader
}{
	{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"one_byte_reads", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"bufio_prebuffered", func(b []byte) io.Reader {
		br := bufio.NewReaderSize(bytes.NewReader(b), 64<<10)
		_, _ = br.Peek(len(b)) // everything already buffered, as after an HTTP request line
		return br
	}},
	{"half_reads", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
}

func TestReadRealHellos(t *testing.T) {
	for _, h := range realHellos {
		hello := captureHello(t, h.cfg(t))
		if got := countRecords(hello); got != h.records {
			t.Fatalf("%s: crypto/tls used %d records, test expects %d", h.name, got, h.records)
		}
		for _, m := range readModes {
			t.Run(h.name+"/"+m.name, func(t *testing.T) {
				r := m.wrap(cat(hello, []byte(trailer)))
				rec, sni, err := Read(r, 64<<10)
				if err != nil {
					t.Fatalf("Read: %v (len %d)", err, len(hello))
				}
				if !bytes.Equal(rec, hello) {
					t.Fatalf("record: got %d bytes, want the %d captured", len(rec), len(hello))
				}
				if sni != h.sni {
					t.Errorf("sni = %q, want %q", sni, h.sni)
				}
				rest, _ := io.ReadAll(r)
				if string(rest) != trailer {
					t.Errorf("left in reader %q, want %q", rest, trailer)
				}
			})
		}
	}
}

func TestReadDefaultLimit(t *testing.T) {
	for _, h := range realHellos {
		t.Run(h.name, func(t *testing.T) {
			hello := captureHello(t, h.cfg(t))
			rec, _, err := Read(bytes.NewReader(hello), 0)
			if len(hello) > DefaultMaxLen {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%d-byte hello: err = %v, want ErrTooLarge", len(hello), err)
				}
				if len(rec) > DefaultMaxLen {
					t.Errorf("consumed %d bytes past the %d limit", len(rec), DefaultMaxLen)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
		})
	}
}

func countRecords(recs []byte) int {
	n := 0
	for len(recs) >= 5 {
		recs = recs[5+(int(recs[3])<<8|int(recs[4])):]
		n++
	}
	return n
}

// TestReadTCPOneByteSegments sends a real hello one byte per write over
// loopback TCP (Nagle off, with pauses so segments stay apart).
func TestReadTCPOneByteSegments(t *testing.T) {
	hello := captureHello(t, realHellos[0].cfg(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	werr := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			werr <- err
			return
		}
		defer c.Close()
		for i := range hello {
			if _, err := c.Write(hello[i : i+1]); err != nil {
				werr <- err
				return
			}
			if i%16 == 0 {
				time.Sleep(200 * time.Microsecond)
			}
		}
		_, err = c.Write([]byte(trailer))
		werr <- err
		time.Sleep(100 * time.Millisecond) // let the reader drain before FIN
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	rec, sni, err := Read(c, 0)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !bytes.Equal(rec, hello) || sni != realHellos[0].sni {
		t.Fatalf("got %d bytes sni %q, want %d bytes sni %q", len(rec), sni, len(hello), realHellos[0].sni)
	}
	rest := make([]byte, len(trailer))
	if _, err := io.ReadFull(c, rest); err != nil || string(rest) != trailer {
		t.Fatalf("after hello: %q, %v", rest, err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

func TestReadFragmentedRecords(t *testing.T) {
	hello := captureHello(t, realHellos[0].cfg(t))
	msgLen := len(payloads(hello))
	cases := []struct {
		name  string
		sizes []int
	}{
		{"split_in_type", []int{1}},
		{"split_in_length", []int{2}},
		{"split_after_length", []int{4}},
		{"split_in_random", []int{20}},
		{"split_in_middle", []int{msgLen / 2}},
		{"split_before_last_byte", []int{msgLen - 1}},
		{"three_records", []int{3, 100}},
		{"one_byte_records", repeat(1, msgLen)},
	}
	for _, tc := range cases {
		framed := reframe(hello, tc.sizes...)
		for _, m := range readModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				r := m.wrap(cat(framed, []byte(trailer)))
				rec, sni, err := Read(r, 0)
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if !bytes.Equal(rec, framed) || sni != realHellos[0].sni {
					t.Fatalf("got %d bytes sni %q, want %d bytes", len(rec), sni, len(framed))
				}
				if rest, _ := io.ReadAll(r); string(rest) != trailer {
					t.Errorf("left %q, want %q", rest, trailer)
				}
			})
		}
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestReadSynthetic(t *testing.T) {
	valid := record(handshake(1, simpleBody(sniExt("a.example"))))
	big := handshake(1, simpleBody(ext(0xffce, make([]byte, 20000)), sniExt("x.example")))
	cases := []struct {
		name     string
		in       []byte
		maxLen   int
		wantErr  error
		wantSNI  string
		consumed int // most bytes Read may take (exactly, on success); -1: all of in
	}{
		{name: "valid", in: valid, wantSNI: "a.example", consumed: -1},
		{name: "trailing_dot_upper", in: record(handshake(1, simpleBody(sniExt("Orders.EXAMPLE.")))), wantSNI: "orders.example", consumed: -1},
		{name: "no_extensions", in: record(handshake(1, helloBody(nil, []byte{0, 0x2f}, []byte{0}, nil))), consumed: -1},
		{name: "empty_extensions", in: record(handshake(1, simpleBody())), consumed: -1},
		{name: "sni_other_name_type_only", in: record(handshake(1, simpleBody(ext(0, cat(u16(4), []byte{9, 0, 1, 'x'}))))), consumed: -1},
		{name: "sni_after_other_extensions", in: record(handshake(1, simpleBody(ext(10, []byte{0, 2, 0, 29}), ext(0xfe0d, make([]byte, 300)), sniExt("late.example")))), wantSNI: "late.example", consumed: -1},
		{name: "max_session_id", in: record(handshake(1, helloBody(make([]byte, 32), []byte{0x13, 1}, []byte{0}, []byte{}))), consumed: -1},
		{name: "big_hello_in_records", in: reframe(record(big), maxPlaintext), maxLen: 64 << 10, wantSNI: "x.example", consumed: -1},

		{name: "empty_input", in: nil, wantErr: io.EOF, consumed: 0},
		{name: "http_get", in: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), wantErr: ErrNotTLS, consumed: 5},
		{name: "http_connect_again", in: []byte("CONNECT a:443 HTTP/1.1\r\n\r\n"), wantErr: ErrNotTLS, consumed: 5},
		{name: "sslv2_hello", in: []byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10}, wantErr: ErrNotTLS, consumed: 5},
		{name: "alert_record", in: []byte{0x15, 3, 1, 0, 2, 2, 40}, wantErr: ErrNotTLS, consumed: 5},
		{name: "record_major_2", in: []byte{0x16, 2, 0, 0, 4}, wantErr: ErrNotTLS, consumed: 5},
		{name: "record_minor_5", in: []byte{0x16, 3, 5, 0, 4}, wantErr: ErrNotTLS, consumed: 5},
		{name: "zero_record", in: []byte{0x16, 3, 1, 0, 0}, wantErr: ErrMalformed, consumed: 5},
		{name: "record_over_2_14", in: cat([]byte{0x16, 3, 1, 0x40, 0x01}, make([]byte, 0x4001)), maxLen: 1 << 20, wantErr: ErrMalformed, consumed: 5},
		{name: "record_over_maxlen", in: valid, maxLen: len(valid) - 1, wantErr: ErrTooLarge, consumed: 5},
		{name: "message_over_maxlen_fragmented", in: reframe(record(big), 1000), maxLen: 5000, wantErr: ErrTooLarge, consumed: 1005},
		{name: "message_len_ffffff", in: record([]byte{1, 0xff, 0xff, 0xff, 3, 3}), wantErr: ErrTooLarge, consumed: 11},
		{name: "server_hello", in: record(handshake(2, simpleBody())), wantErr: ErrNotClientHello, consumed: -1},
		{name: "server_hello_fragmented", in: cat(record([]byte{2}), record([]byte{0, 0, 0})), wantErr: ErrNotClientHello, consumed: 6},
		{name: "empty_client_hello", in: record([]byte{1, 0, 0, 0}), wantErr: ErrMalformed, consumed: -1},
		{name: "trailing_message_in_record", in: record(cat(handshake(1, simpleBody()), handshake(1, simpleBody()))), wantErr: ErrMalformed, consumed: -1},
		{name: "second_record_not_handshake", in: cat(record([]byte{1, 0}), []byte{0x17, 3, 3, 0, 2, 0, 5}), wantErr: ErrMalformed, consumed: 12},
		{name: "second_record_bad_version", in: cat(record([]byte{1, 0}), []byte{0x16, 4, 3, 0, 2, 0, 5}), wantErr: ErrMalformed, consumed: 12},
		{name: "truncated_record", in: valid[:len(valid)-1], wantErr: io.ErrUnexpectedEOF, consumed: -1},
		{name: "truncated_header", in: valid[:3], wantErr: io.ErrUnexpectedEOF, consumed: -1},
		{name: "legacy_version_2", in: record(handshake(1, cat([]byte{2, 0}, simpleBody()[2:]))), wantErr: ErrMalformed, consumed: -1},
		{name: "short_random", in: record(handshake(1, []byte{3, 3, 1, 2})), wantErr: ErrMalformed, consumed: -1},
		{name: "session_id_33", in: record(handshake(1, helloBody(make([]byte, 33), []byte{0x13, 1}, []byte{0}, []byte{}))), wantErr: ErrMalformed, consumed: -1},
		{name: "cipher_suites_odd", in: record(handshake(1, helloBody(nil, []byte{0x13, 1, 0}, []byte{0}, []byte{}))), wantErr: ErrMalformed, consumed: -1},
		{name: "cipher_suites_empty", in: record(handshake(1, helloBody(nil, nil, []byte{0}, []byte{}))), wantErr: ErrMalformed, consumed: -1},
		{name: "compression_empty", in: record(handshake(1, helloBody(nil, []byte{0x13, 1}, nil, []byte{}))), wantErr: ErrMalformed, consumed: -1},
		{name: "cipher_suites_len_overflow", in: record(handshake(1, cat([]byte{3, 3}, make([]byte, 32), []byte{0, 0xff, 0xfe}))), wantErr: ErrMalformed, consumed: -1},
		{name: "extensions_len_short", in: record(handshake(1, cat(simpleBody(sniExt("a.b"))[:39], u16(3), sniExt("a.b")))), wantErr: ErrMalformed, consumed: -1},
		{name: "extensions_len_long", in: record(handshake(1, cat(simpleBody()[:39], u16(50), sniExt("a.b")))), wantErr: ErrMalformed, consumed: -1},
		{name: "extension_len_overflow", in: record(handshake(1, simpleBody(cat(u16(0), u16(0xffff))))), wantErr: ErrMalformed, consumed: -1},
		{name: "extension_half_header", in: record(handshake(1, simpleBody([]byte{0}))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_list_len_mismatch", in: record(handshake(1, simpleBody(ext(0, cat(u16(9), []byte{0, 0, 3, 'a', '.', 'b'}))))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_list_empty", in: record(handshake(1, simpleBody(ext(0, u16(0))))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_ext_empty", in: record(handshake(1, simpleBody(ext(0, nil)))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_name_len_overflow", in: record(handshake(1, simpleBody(ext(0, cat(u16(5), []byte{0, 0xff, 0xff, 'a', 'b'}))))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_empty_host", in: record(handshake(1, simpleBody(sniExt("")))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_only_dot", in: record(handshake(1, simpleBody(sniExt(".")))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_two_hosts", in: record(handshake(1, simpleBody(sniExt("a.example", "b.example")))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_duplicate_extension", in: record(handshake(1, simpleBody(sniExt("a.example"), sniExt("b.example")))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_nul_byte", in: record(handshake(1, simpleBody(sniExt("a.example\x00.evil")))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_space", in: record(handshake(1, simpleBody(sniExt("a example")))), wantErr: ErrMalformed, consumed: -1},
		{name: "sni_utf8", in: record(handshake(1, simpleBody(sniExt("bücher.example")))), wantErr: ErrMalformed, consumed: -1},
	}
	for _, tc := range cases {
		for _, m := range readModes {
			t.Run(tc.name+"/"+m.name, func(t *testing.T) {
				in := cat(tc.in, []byte(trailer))
				if errors.Is(tc.wantErr, io.EOF) || errors.Is(tc.wantErr, io.ErrUnexpectedEOF) {
					in = tc.in // truncation cases end the stream
				}
				r := m.wrap(in)
				rec, sni, err := Read(r, tc.maxLen)
				if tc.wantErr == nil && err != nil || !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if sni != tc.wantSNI {
					t.Errorf("sni = %q, want %q", sni, tc.wantSNI)
				}
				want := tc.consumed
				if want < 0 {
					want = len(tc.in)
				}
				// A refusal may take up to a record header in one read; a
				// success takes exactly its records.
				if len(rec) > want || err == nil && len(rec) != want || !bytes.Equal(rec, in[:len(rec)]) {
					t.Errorf("record: %d bytes, want the first %d of the input", len(rec), want)
				}
				if m.name != "bufio_prebuffered" { // bufio reads ahead by design
					if rest, _ := io.ReadAll(r); len(rest) != len(in)-len(rec) {
						t.Errorf("reader has %d bytes left, want %d", len(rest), len(in)-len(rec))
					}
				}
			})
		}
	}
}

func TestReadTruncatedPrefixes(t *testing.T) {
	hello := captureHello(t, realHellos[1].cfg(t))
	framed := reframe(hello, 3, 200)
	for _, in := range [][]byte{hello, framed} {
		for n := range len(in) {
			rec, _, err := Read(bytes.NewReader(in[:n]), 0)
			want := io.ErrUnexpectedEOF
			if n == 0 {
				want = io.EOF
			}
			if !errors.Is(err, want) || !bytes.Equal(rec, in[:n]) {
				t.Fatalf("prefix %d/%d: err %v, %d bytes", n, len(in), err, len(rec))
			}
		}
	}
}

// stallReader returns (0, nil) forever, which io.ReadFull would spin on.
type stallReader struct{}

func (stallReader) Read([]byte) (int, error) { return 0, nil }

func TestReadNoProgress(t *testing.T) {
	for _, r := range []io.Reader{stallReader{}, io.MultiReader(strings.NewReader("\x16\x03\x01\x00\x10\x01"), stallReader{})} {
		if _, _, err := Read(r, 0); !errors.Is(err, io.ErrNoProgress) {
			t.Errorf("err = %v, want io.ErrNoProgress", err)
		}
	}
}

func TestReadDeadline(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = b.Write([]byte{0x16, 3, 1, 0, 50, 1}) }()
	_ = a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	rec, _, err := Read(a, 0)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || len(rec) != 6 {
		t.Fatalf("err = %v (%d bytes), want a wrapped timeout after 6 bytes", err, len(rec))
	}
}
