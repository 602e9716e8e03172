package access

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Authenticator verifies Basic passwords and keeps the failure throttle.
// bcrypt is slow by design, so a successful verification is cached (keyed
// by a SHA-256 of the presented user and password, never the password
// itself) and at most a few verifications run at once, each waiting a
// bounded time for its turn, so a flood of wrong passwords costs bounded
// CPU and cannot queue a legitimate login behind it for long. It lives as
// long as the proxy, so a reload neither empties the cache nor forgives
// failures. The zero value is usable.
type Authenticator struct {
	cache    atomic.Pointer[sync.Map] // [32]byte → string(bcrypt hash verified)
	size     atomic.Int64
	once     sync.Once
	sem      chan struct{}
	throttle throttle
	// compared counts passwords actually compared (plaintext or bcrypt),
	// so tests can tell a throttled or busy attempt did no password work.
	compared atomic.Int64
}

// maxAuthCache bounds the verified-credentials cache; past it the cache
// starts over (only successful verifications enter it, so its size follows
// the number of distinct valid credentials in use).
const maxAuthCache = 4096

// verdict is verify's answer.
type verdict uint8

const (
	verdictWrong verdict = iota
	verdictOK
	verdictBusy // no bcrypt slot within the wait: nothing was compared
)

// slots is the bcrypt semaphore: half the CPUs, so verifications never
// starve the requests in flight.
func (a *Authenticator) slots() chan struct{} {
	a.once.Do(func() {
		n := runtime.GOMAXPROCS(0) / 2
		a.sem = make(chan struct{}, max(n, 1))
	})
	return a.sem
}

// verify checks pass for c in constant time (plaintext) or with bcrypt,
// waiting at most wait for a bcrypt slot.
func (a *Authenticator) verify(r *http.Request, c *Identity, user, pass string, wait time.Duration) verdict {
	if c.bcrypt == nil {
		a.compared.Add(1)
		sum := sha256.Sum256([]byte(pass))
		if subtle.ConstantTimeCompare(sum[:], c.password[:]) == 1 {
			return verdictOK
		}
		return verdictWrong
	}
	h := sha256.New()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(pass))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	m := a.cache.Load()
	if m != nil {
		if v, ok := m.Load(key); ok && v.(string) == string(c.bcrypt) {
			return verdictOK
		}
	}
	if !a.acquire(r, wait) {
		return verdictBusy
	}
	a.compared.Add(1)
	err := bcrypt.CompareHashAndPassword(c.bcrypt, []byte(pass))
	<-a.sem
	if err != nil {
		return verdictWrong
	}
	if m == nil || a.size.Add(1) > maxAuthCache {
		m = new(sync.Map)
		a.cache.Store(m)
		a.size.Store(1)
	}
	m.Store(key, string(c.bcrypt))
	return verdictOK
}

// acquire takes a bcrypt slot, waiting at most wait (or until the client
// goes away).
func (a *Authenticator) acquire(r *http.Request, wait time.Duration) bool {
	sem := a.slots()
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		return true
	case <-t.C:
	case <-r.Context().Done():
	}
	return false
}

// Compared reports how many passwords were actually compared (plaintext
// or bcrypt) so far: a throttled or busy attempt compares none, which is
// what the proxy's end-to-end tests check from outside this package.
func (a *Authenticator) Compared() int64 { return a.compared.Load() }

// HoldSlots takes every bcrypt slot, as a flood of wrong passwords would,
// until release is called; for tests of the busy answer.
func (a *Authenticator) HoldSlots() (release func()) {
	sem := a.slots()
	for range cap(sem) {
		sem <- struct{}{}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for range cap(sem) {
				<-sem
			}
		})
	}
}
