package admin

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// The two ways a configured token file can hold no token. Either makes the
// protected routes refuse every request: an empty token must never read
// as "no token configured", which would open them.
var (
	ErrTokenEmpty      = errors.New("admin token file is empty or holds only whitespace")
	ErrTokenUnreadable = errors.New("admin token file is unreadable")
)

// maxTokenBytes bounds one read of the token file, as config load does,
// so a wrong path to a huge file cannot stall every admin request.
const maxTokenBytes = 64 << 10

// tokenFile reads the bearer token from its file on each check, so a
// rotation needs no reload, and logs each change of what the file holds
// once rather than once per request.
type tokenFile struct {
	path    func() string // nil or "": no token is configured and the protected routes are open
	log     *zap.Logger
	metrics *Metrics

	// mu serialises checks so the log and the gauge follow the file's
	// states in the order they were read.
	mu   sync.Mutex
	last tokenState
}

// tokenState is what one check found; the zero value is "not checked yet".
type tokenState struct {
	path string
	err  string // "" when the file held a token (or none is configured)
	bad  bool
}

// current returns the token the protected routes require: "" and nil when
// no token file is configured; an error wrapping ErrTokenEmpty or
// ErrTokenUnreadable when one is configured but holds no usable token.
func (t *tokenFile) current() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var p string
	if t.path != nil {
		p = t.path()
	}
	if p == "" {
		t.observe(tokenState{})
		return "", nil
	}
	tok, err := readToken(p)
	st := tokenState{path: p}
	if err != nil {
		st.err, st.bad = err.Error(), true
	}
	t.observe(st)
	return tok, err
}

// observe records st in the gauge, and in the log when it differs from the
// previous check. The caller holds t.mu.
func (t *tokenFile) observe(st tokenState) {
	t.metrics.setTokenValid(!st.bad)
	prev := t.last
	t.last = st
	if st == prev {
		return
	}
	switch {
	case st.bad:
		t.log.Error("admin token file holds no usable token: the protected admin routes refuse every request until it does",
			zap.String("file", st.path), zap.String("reason", st.err))
	case prev.bad:
		t.log.Info("admin token file holds a token again: the protected admin routes accept it", zap.String("file", st.path))
	}
}

// readToken reads the token from p, trimmed of surrounding whitespace (a
// trailing newline is what most editors and `kubectl create secret
// --from-file` leave).
func readToken(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrTokenUnreadable, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrTokenUnreadable, err)
	}
	if len(b) > maxTokenBytes {
		return "", fmt.Errorf("%w: %s is larger than %d bytes", ErrTokenUnreadable, p, maxTokenBytes)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%w: %s", ErrTokenEmpty, p)
	}
	return tok, nil
}

// tokenRefusal is the answer's message for a token check that failed. It
// leaves out the path and the OS error, which are in the log: the asker
// may be anyone who can reach the admin port.
func tokenRefusal(err error) string {
	const tail = ": the protected admin routes refuse every request until admin.token_file holds a token (see callgate's log)"
	if errors.Is(err, ErrTokenEmpty) {
		return "the admin token file is empty or whitespace-only" + tail
	}
	return "the admin token file cannot be read" + tail
}
