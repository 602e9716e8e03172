// Package testclient holds the proxy clients' secrets that the tests of
// access and proxy share: two Basic users, one with a plaintext password
// and one with a bcrypt hash, and a Bearer token. None of them may ever
// appear in an error, a denial, a log line, a metric or a response.
package testclient

import (
	"encoding/base64"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The test clients' credentials.
const (
	PlainUser   = "app1"
	PlainPass   = "pw-app1-plaintext-7f3a"
	HashedUser  = "app2"
	HashedPass  = "pw-app2-bcrypt-91c4"
	BearerToken = "tok-app3-0123456789abcdef"
)

// Secrets are every form in which a test credential could leak: the
// passwords, the token, and the Basic field values carrying them.
var Secrets = []string{PlainPass, HashedPass, BearerToken,
	base64.StdEncoding.EncodeToString([]byte(PlainUser + ":" + PlainPass)),
	base64.StdEncoding.EncodeToString([]byte(HashedUser + ":" + HashedPass)),
}

// BcryptHash is HashedPass hashed at the minimum cost (fast tests), once.
var BcryptHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(HashedPass), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return h
})

// BasicAuth is the Proxy-Authorization value for user and pass.
func BasicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// AssertNoSecrets fails t if any of Secrets is in s; where names s.
func AssertNoSecrets(t testing.TB, where, s string) {
	t.Helper()
	for _, sec := range Secrets {
		if strings.Contains(s, sec) {
			t.Errorf("%s holds a secret (%.6s…)", where, sec)
		}
	}
}
