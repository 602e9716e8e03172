package clienthello

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// captureHello runs a real crypto/tls client handshake over net.Pipe and
// returns the records of its ClientHello, framed by the test's own minimal
// reader so the capture does not depend on the code under test.
func captureHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	cli, srv := net.Pipe()
	defer srv.Close()
	done := make(chan error, 1)
	go func() {
		c := tls.Client(cli, cfg)
		defer c.Close()
		done <- c.Handshake()
	}()
	if err := srv.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var out, msg []byte
	for len(msg) < 4 || len(msg) < 4+(int(msg[1])<<16|int(msg[2])<<8|int(msg[3])) {
		var hdr [5]byte
		if _, err := io.ReadFull(srv, hdr[:]); err != nil {
			t.Fatalf("capture: record header: %v", err)
		}
		payload := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
		if _, err := io.ReadFull(srv, payload); err != nil {
			t.Fatalf("capture: record: %v", err)
		}
		out = append(append(out, hdr[:]...), payload...)
		msg = append(msg, payload...)
	}
	srv.Close()
	<-done // the handshake fails; only the hello matters
	return out
}

// echConfigList builds an ECHConfigList (draft-ietf-tls-esni-22 §4) with a
// fresh X25519 key, so the client sends a real encrypted_client_hello
// extension and an outer SNI of publicName.
func echConfigList(t testing.TB, publicName string) []byte {
	t.Helper()
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.PublicKey().Bytes()
	var c []byte
	c = append(c, 7)                             // config_id
	c = binary.BigEndian.AppendUint16(c, 0x0020) // DHKEM(X25519, HKDF-SHA256)
	c = binary.BigEndian.AppendUint16(c, uint16(len(pub)))
	c = append(c, pub...)
	c = binary.BigEndian.AppendUint16(c, 4)
	c = binary.BigEndian.AppendUint16(c, 0x0001) // HKDF-SHA256
	c = binary.BigEndian.AppendUint16(c, 0x0001) // AES-128-GCM
	c = append(c, 64)                            // maximum_name_length
	c = append(c, byte(len(publicName)))
	c = append(c, publicName...)
	c = binary.BigEndian.AppendUint16(c, 0) // extensions
	var cfg []byte
	cfg = binary.BigEndian.AppendUint16(cfg, 0xfe0d)
	cfg = binary.BigEndian.AppendUint16(cfg, uint16(len(c)))
	cfg = append(cfg, c...)
	list := binary.BigEndian.AppendUint16(nil, uint16(len(cfg)))
	return append(list, cfg...)
}

// allCipherSuites lists every suite crypto/tls knows, secure or not, for
// the biggest cipher_suites vector a Go client will send.
func allCipherSuites() []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	return ids
}

// alpnList makes n protocol names of size bytes each.
func alpnList(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat(string(rune('a'+i%26)), size)
	}
	return out
}

// realHello is one captured client configuration.
type realHello struct {
	name    string
	cfg     func(t testing.TB) *tls.Config
	sni     string
	records int // how many records crypto/tls used
}

// realHellos are the configurations the table and fuzz seeds use.
var realHellos = []realHello{
	{name: "tls13_sni_mixed_case", sni: "api.partner.example", records: 1,
		cfg: func(testing.TB) *tls.Config { return &tls.Config{ServerName: "API.Partner.Example"} }},
	{name: "tls12_only", sni: "orders.partner.example", records: 1,
		cfg: func(testing.TB) *tls.Config {
			return &tls.Config{ServerName: "orders.partner.example", MaxVersion: tls.VersionTLS12}
		}},
	{name: "tls10_to_12_all_ciphers", sni: "legacy.example", records: 1,
		cfg: func(testing.TB) *tls.Config {
			return &tls.Config{ServerName: "legacy.example", MinVersion: tls.VersionTLS10,
				MaxVersion: tls.VersionTLS12, CipherSuites: allCipherSuites()}
		}},
	{name: "ip_server_name_no_sni", sni: "", records: 1,
		cfg: func(testing.TB) *tls.Config { return &tls.Config{ServerName: "127.0.0.1"} }},
	{name: "no_server_name_insecure", sni: "", records: 1,
		cfg: func(testing.TB) *tls.Config { return &tls.Config{InsecureSkipVerify: true} }},
	{name: "ech_outer_sni", sni: "public.example", records: 1,
		cfg: func(t testing.TB) *tls.Config {
			return &tls.Config{ServerName: "secret.partner.example", MinVersion: tls.VersionTLS13,
				EncryptedClientHelloConfigList: echConfigList(t, "public.example")}
		}},
	{name: "big_alpn_many_ciphers", sni: "big.example", records: 1,
		cfg: func(testing.TB) *tls.Config {
			return &tls.Config{ServerName: "big.example", CipherSuites: allCipherSuites(),
				NextProtos: alpnList(40, 200)}
		}},
	{name: "over_16k_two_records", sni: "huge.example", records: 2,
		cfg: func(testing.TB) *tls.Config {
			return &tls.Config{ServerName: "huge.example", NextProtos: alpnList(80, 250)}
		}},
}
