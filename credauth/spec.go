// Package credauth injects a named credential's authentication into
// callout requests, so applications never hold the secret.
//
// New turns a Spec into an Injector; its Inject runs last on the outbound
// callout request (aws_sigv4 signs the final URL, Host and headers). Secret
// files are watched and re-read on change; secret values are held as
// Redacted, which never prints. CONNECT tunnels carry no injection, and
// mutual TLS is the routing TLS config's job, not this package's.
package credauth

import (
	"encoding/json"
	"fmt"
	"time"
)

// Secret names where a secret value comes from: exactly one of File (re-read
// when it changes) or Env (read at load).
type Secret struct {
	File string
	Env  string
}

// Spec is one named credential's typed `auth:` block. Exactly one of the
// pointer fields is set; all nil means no authentication is injected.
type Spec struct {
	Basic   *BasicSpec
	Bearer  *BearerSpec
	Headers []HeaderSpec
	OAuth2  *OAuth2Spec
	SigV4   *SigV4Spec
	// PassClientAuthorization keeps the client's own Authorization header
	// instead of removing it before injection.
	PassClientAuthorization bool
}

// BasicSpec is HTTP Basic authentication (RFC 7617).
type BasicSpec struct {
	Username string
	Password Secret
}

// BearerSpec is a bearer token (RFC 6750).
type BearerSpec struct {
	Token Secret
}

// HeaderSpec sets one header; Value is a literal unless Secret names a source.
// A literal Value may itself be a key, so fmt and JSON output redact it.
type HeaderSpec struct {
	Name   string
	Value  string
	Secret *Secret
}

// OAuth2Spec is the OAuth 2.0 client credentials grant (RFC 6749 §4.4).
type OAuth2Spec struct {
	TokenURL     string
	ClientID     string
	ClientSecret Secret
	Scopes       []string
	Audience     string
	// EarlyExpiry refreshes the token this long before it expires; zero
	// means the package default.
	EarlyExpiry time.Duration
}

// SigV4Spec signs requests with AWS Signature Version 4.
type SigV4Spec struct {
	Service string
	Region  string
	// RoleARN, when set, is assumed with STS for the signing credentials;
	// otherwise the SDK's default credential chain is used.
	RoleARN string
	// UnsignedPayload signs the literal "UNSIGNED-PAYLOAD" instead of the
	// body's SHA-256, so bodies stream without buffering. Only some services
	// (S3) accept it. False (the default) buffers the body, up to
	// Options.MaxSignedBody, to hash it.
	UnsignedPayload bool
}

// Format prints the header with its literal value redacted, for every verb.
func (h HeaderSpec) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{Name:%s Value:%s Secret:%v}", h.Name, redactedText, h.Secret)
}

// MarshalJSON encodes the header with its literal value redacted.
func (h HeaderSpec) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name   string
		Value  string
		Secret *Secret
	}{h.Name, redactedText, h.Secret})
}
