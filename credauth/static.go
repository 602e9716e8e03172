package credauth

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// basicAuth sets Authorization: Basic (RFC 7617 §2). The header is built per
// request because the password may rotate.
type basicAuth struct {
	username string
	password source
}

func newBasic(s *BasicSpec, load loader) (*basicAuth, error) {
	if s.Username == "" {
		return nil, fmt.Errorf("%w: basic: username is required", ErrInvalidSpec)
	}
	// RFC 7617 §2: the user-id cannot contain a colon.
	if strings.Contains(s.Username, ":") || !httpguts.ValidHeaderFieldValue(s.Username) {
		return nil, fmt.Errorf("%w: basic: username must not contain a colon or control characters", ErrInvalidSpec)
	}
	pw, err := load(s.Password, "basic password")
	if err != nil {
		return nil, err
	}
	return &basicAuth{username: s.Username, password: pw}, nil
}

func (b *basicAuth) apply(r *http.Request) error {
	cred := b.username + ":" + b.password.value().Reveal()
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	return nil
}

// bearerAuth sets Authorization: Bearer (RFC 6750 §2.1).
type bearerAuth struct {
	token source
}

func newBearer(s *BearerSpec, load loader) (*bearerAuth, error) {
	tok, err := load(s.Token, "bearer token")
	if err != nil {
		return nil, err
	}
	return &bearerAuth{token: tok}, nil
}

func (b *bearerAuth) apply(r *http.Request) error {
	r.Header.Set("Authorization", "Bearer "+b.token.value().Reveal())
	return nil
}

// headerAuth sets custom headers, replacing any the client sent under the
// same names so a client cannot pre-empt the credential.
type headerAuth struct {
	headers []header
}

type header struct {
	name    string // canonical
	literal Redacted
	src     source // nil for a literal
}

// reservedHeaders are framing, routing or hop-by-hop headers (RFC 9110
// §7.6.1) that an auth block must not set: the proxy owns them.
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Keep-Alive": true, "Te": true, "Trailer": true, "Upgrade": true,
}

func newHeaders(specs []HeaderSpec, load loader) (*headerAuth, error) {
	h := &headerAuth{}
	seen := make(map[string]bool, len(specs))
	for i, s := range specs {
		name := http.CanonicalHeaderKey(s.Name)
		switch {
		case !httpguts.ValidHeaderFieldName(s.Name):
			return nil, fmt.Errorf("%w: headers[%d]: invalid header name %q", ErrInvalidSpec, i, s.Name)
		case reservedHeaders[name] || strings.HasPrefix(name, "Proxy-"):
			return nil, fmt.Errorf("%w: headers[%d]: header %q cannot be set by auth", ErrInvalidSpec, i, name)
		case seen[name]:
			return nil, fmt.Errorf("%w: headers[%d]: header %q set twice", ErrInvalidSpec, i, name)
		}
		seen[name] = true
		hd := header{name: name}
		if s.Secret != nil {
			if s.Value != "" {
				return nil, fmt.Errorf("%w: headers[%d] %q: set a literal value or a secret, not both", ErrInvalidSpec, i, name)
			}
			src, err := load(*s.Secret, fmt.Sprintf("header %q", name))
			if err != nil {
				return nil, err
			}
			hd.src = src
		} else {
			if s.Value == "" || !httpguts.ValidHeaderFieldValue(s.Value) {
				return nil, fmt.Errorf("%w: headers[%d] %q: value is empty or contains control characters", ErrInvalidSpec, i, name)
			}
			hd.literal = NewRedacted(s.Value)
		}
		h.headers = append(h.headers, hd)
	}
	if len(h.headers) == 0 {
		return nil, fmt.Errorf("%w: headers: at least one header is required", ErrInvalidSpec)
	}
	return h, nil
}

func (h *headerAuth) apply(r *http.Request) error {
	for _, hd := range h.headers {
		v := hd.literal
		if hd.src != nil {
			v = hd.src.value()
		}
		r.Header[hd.name] = []string{v.Reveal()}
	}
	return nil
}

func (h *headerAuth) setsAuthorization() bool {
	for _, hd := range h.headers {
		if hd.name == "Authorization" {
			return true
		}
	}
	return false
}
