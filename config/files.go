package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// resolvePath makes a path from the file relative to the config file's
// directory (as Prometheus does), so a config and the files beside it can
// move together. "" stays "".
func (c *compiler) resolvePath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// checkReadable reports at key whether the regular file p can be opened.
// It does not read it: secrets stay out of the config. what says what the
// file is for, e.g. `named credential "X": secret file`.
func (c *compiler) checkReadable(key, what, p string) bool {
	st, err := os.Stat(p)
	if err != nil {
		c.errorf(key, ErrFile, "%s %q: %v", what, p, unwrapPath(err))
		return false
	}
	if st.IsDir() {
		c.errorf(key, ErrFile, "%s %q is a directory", what, p)
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		c.errorf(key, ErrFile, "%s %q is not readable: %v", what, p, unwrapPath(err))
		return false
	}
	_ = f.Close()
	return true
}

// certPool reads a PEM bundle that must hold at least one certificate.
func (c *compiler) certPool(key, what, p string) *x509.CertPool {
	if !c.checkReadable(key, what, p) {
		return nil
	}
	pem, err := os.ReadFile(p)
	if err != nil {
		c.errorf(key, ErrFile, "%s %q: %v", what, p, unwrapPath(err))
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		c.errorf(key, ErrFile, "%s %q holds no PEM certificate", what, p)
		return nil
	}
	return pool
}

// keyPair loads a certificate and its key, so a mismatched or broken pair
// fails at load instead of at the first handshake.
func (c *compiler) keyPair(key, what, certFile, keyFile string) (tls.Certificate, bool) {
	if !c.checkReadable(key, what+" certificate", certFile) {
		return tls.Certificate{}, false
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		c.errorf(key, ErrFile, "%s %q with key %q: %v", what, certFile, keyFile, unwrapPath(err))
		return tls.Certificate{}, false
	}
	return cert, true
}

// readSmall reads at most 64 KiB of p: enough for a token, and a wrong
// path to a huge file cannot stall the load.
func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<10))
}

// unwrapPath drops the *PathError prefix that would repeat the file name.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
