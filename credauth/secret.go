package credauth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"
)

// maxSecretFile bounds a secret file read; secrets are short, and a huge
// file is a misconfiguration, not something to load into every request.
const maxSecretFile = 64 << 10

// statEvery is how often, at most, a read of a file secret stats the file as
// a fallback for missed fsnotify events (e.g. on filesystems without
// inotify, or a watch that could not be added).
const statEvery = time.Second

// source yields the current value of one secret.
type source interface {
	value() Redacted
	describe() string // "file \"/p\"" or "environment variable \"V\"": never the value
}

// envSource is read once, at New: the environment cannot change under a
// running process.
type envSource struct {
	name string
	v    Redacted
}

func (e *envSource) value() Redacted  { return e.v }
func (e *envSource) describe() string { return fmt.Sprintf("environment variable %q", e.name) }

// fileSource is re-read when the file changes. Reads on the request path are
// one atomic load plus, at most once per statEvery, a stat.
type fileSource struct {
	path string
	log  *zap.Logger

	cur       atomic.Pointer[fileValue]
	lastCheck atomic.Int64 // unix nanoseconds of the last fallback stat
	// bad is the version of the file whose re-read failed and was
	// reported; nil once a read succeeds. It is neither read nor reported
	// again until the file changes.
	bad atomic.Pointer[badVersion]

	mu sync.Mutex // serialises reloads so a slow stale read cannot overwrite a newer one
}

type fileValue struct {
	v  Redacted
	fi os.FileInfo // of the file the value came from, for the fallback check
}

// badVersion is a version of the file that could not be used; fi is nil
// when the file could not even be stat'ed.
type badVersion struct{ fi os.FileInfo }

// is reports whether fi (nil: no file) is this bad version.
func (b *badVersion) is(fi os.FileInfo) bool {
	if b.fi == nil || fi == nil {
		return b.fi == nil && fi == nil
	}
	return sameVersion(b.fi, fi)
}

func (f *fileSource) describe() string { return fmt.Sprintf("file %q", f.path) }

func (f *fileSource) value() Redacted {
	now := time.Now().UnixNano()
	if last := f.lastCheck.Load(); now-last >= int64(statEvery) && f.lastCheck.CompareAndSwap(last, now) {
		f.checkStat()
	}
	if v := f.cur.Load(); v != nil {
		return v.v
	}
	return Redacted{}
}

// checkStat reloads the file when it is no longer the file (or the version)
// the current value came from. os.Stat follows symlinks, so a Kubernetes
// ..data swap shows up as a different file.
func (f *fileSource) checkStat() {
	fi, err := os.Stat(f.path)
	if err != nil {
		return // keep the last good value; the watcher or the next check reports it
	}
	if old := f.cur.Load(); old != nil && sameVersion(old.fi, fi) {
		return
	}
	if bad := f.bad.Load(); bad != nil && bad.is(fi) {
		return
	}
	_ = f.reload()
}

func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// reload reads the file and swaps the value in. A failed read keeps the last
// good value: a rotation that is half done (truncated file, symlink briefly
// missing) must not break callouts.
func (f *fileSource) reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, fi, err := readSecretFile(f.path)
	if err != nil {
		// Once per bad version: the fallback check and the watcher's
		// events would otherwise repeat it every second.
		if bad := f.bad.Load(); f.cur.Load() != nil && (bad == nil || !bad.is(fi)) {
			f.log.Warn("secret file re-read failed; keeping the previous value",
				zap.String("file", f.path), zap.Error(err))
		}
		f.bad.Store(&badVersion{fi: fi})
		return err
	}
	f.bad.Store(nil)
	old := f.cur.Swap(&fileValue{v: v, fi: fi})
	if old != nil && old.v.Reveal() != v.Reveal() {
		f.log.Info("secret file reloaded", zap.String("file", f.path))
	}
	return nil
}

// readSecretFile stats then reads, so that a change after the stat is seen
// by the next fallback check rather than lost. The FileInfo comes back with
// an error too once the stat succeeded, naming the version that failed.
// Errors never carry the content.
func readSecretFile(path string) (Redacted, os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Redacted{}, nil, fmt.Errorf("%w: file %q: %w", ErrSecretUnavailable, path, err)
	}
	if !fi.Mode().IsRegular() {
		return Redacted{}, fi, fmt.Errorf("%w: file %q is not a regular file", ErrSecretUnavailable, path)
	}
	if fi.Size() > maxSecretFile {
		return Redacted{}, fi, fmt.Errorf("%w: file %q is larger than %d bytes", ErrSecretUnavailable, path, maxSecretFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Redacted{}, fi, fmt.Errorf("%w: file %q: %w", ErrSecretUnavailable, path, err)
	}
	v, err := cleanSecret(b)
	if err != nil {
		return Redacted{}, fi, fmt.Errorf("%w: file %q: %w", ErrSecretUnavailable, path, err)
	}
	return NewRedacted(v), fi, nil
}

// cleanSecret trims one trailing line ending (files written by `echo` or
// editors end in a newline) and rejects values that cannot be sent in a
// header. The error never contains the value.
func cleanSecret(b []byte) (string, error) {
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	// Blanks alone are a file emptied by a botched rotation, not a
	// credential: sending them would fail every call with a confusing 401.
	if len(bytes.TrimSpace(b)) == 0 {
		return "", errEmptySecret
	}
	if !httpguts.ValidHeaderFieldValue(string(b)) {
		return "", errBadSecretBytes
	}
	return string(b), nil
}

var (
	errEmptySecret    = fmt.Errorf("value is empty or only white space")
	errBadSecretBytes = fmt.Errorf("value contains control characters (a line break or NUL) that cannot be sent in a header")
)

// newSource loads a secret for New: a missing or unusable secret is a config
// error naming the file or variable.
func newSource(s Secret, log *zap.Logger, lookupEnv func(string) (string, bool)) (source, error) {
	switch {
	case s.File != "" && s.Env != "":
		return nil, fmt.Errorf("%w: secret names both file %q and environment variable %q; use one", ErrInvalidSpec, s.File, s.Env)
	case s.File != "":
		path, err := filepath.Abs(s.File)
		if err != nil {
			return nil, fmt.Errorf("%w: file %q: %w", ErrSecretUnavailable, s.File, err)
		}
		f := &fileSource{path: path, log: log}
		f.lastCheck.Store(time.Now().UnixNano())
		if err := f.reload(); err != nil {
			return nil, err
		}
		return f, nil
	case s.Env != "":
		v, ok := lookupEnv(s.Env)
		if !ok {
			return nil, fmt.Errorf("%w: environment variable %q is not set", ErrSecretUnavailable, s.Env)
		}
		clean, err := cleanSecret([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("%w: environment variable %q: %w", ErrSecretUnavailable, s.Env, err)
		}
		return &envSource{name: s.Env, v: NewRedacted(clean)}, nil
	}
	return nil, fmt.Errorf("%w: secret needs a file or an environment variable", ErrInvalidSpec)
}
