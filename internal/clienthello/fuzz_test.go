package clienthello

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzRead from captured crypto/tls hellos")

// TestUpdateSeeds writes the real hellos as fuzz seeds when asked:
// go test ./internal/clienthello -run TestUpdateSeeds -update-seeds
func TestUpdateSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("pass -update-seeds to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRead")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range realHellos {
		hello := captureHello(t, h.cfg(t))
		seeds := map[string][]byte{
			"real_" + h.name:                 hello,
			"real_" + h.name + "_fragmented": reframe(hello, 3, 100),
		}
		for name, data := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzRead checks, for any input, that Read does not panic, consumes only
// a prefix of the input (all of it accounted for in record) and, on
// success, stays within the limit and parses its own output the same way.
func FuzzRead(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(record(handshake(1, simpleBody(sniExt("A.Example.")))))
	f.Add(cat(record([]byte{1, 0}), record(handshake(1, simpleBody(sniExt("b.example")))[2:])))
	f.Add(record(handshake(1, simpleBody(sniExt("a.example"), sniExt("b.example")))))
	f.Add([]byte{0x16, 3, 1, 0xff, 0xff, 1, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, wrap := range []func(io.Reader) io.Reader{
			func(r io.Reader) io.Reader { return r },
			iotest.OneByteReader,
		} {
			br := bytes.NewReader(data)
			rec, sni, err := Read(wrap(br), 0)
			if !bytes.Equal(rec, data[:len(rec)]) {
				t.Fatalf("record is not a prefix of the input")
			}
			if left := br.Len(); left != len(data)-len(rec) {
				t.Fatalf("consumed %d bytes, record has %d", len(data)-left, len(rec))
			}
			if err != nil {
				if sni != "" {
					t.Fatalf("sni %q with error %v", sni, err)
				}
				if !knownError(err) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				continue
			}
			if len(rec) > DefaultMaxLen {
				t.Fatalf("%d bytes over the limit", len(rec))
			}
			again, sni2, err := Read(bytes.NewReader(rec), 0)
			if err != nil || sni2 != sni || !bytes.Equal(again, rec) {
				t.Fatalf("re-read of own record: %v %q", err, sni2)
			}
		}
	})
}

func knownError(err error) bool {
	for _, e := range []error{ErrNotTLS, ErrNotClientHello, ErrTooLarge, ErrMalformed, io.EOF, io.ErrUnexpectedEOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func BenchmarkRead(b *testing.B) {
	for _, h := range realHellos[:2] {
		hello := captureHello(b, h.cfg(b))
		b.Run(h.name, func(b *testing.B) {
			r := bytes.NewReader(hello)
			b.SetBytes(int64(len(hello)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(hello)
				if _, _, err := Read(r, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
