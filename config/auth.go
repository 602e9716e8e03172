package config

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/callgate/callgate/credauth"
)

var (
	reEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	reService = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	reRoleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
)

// reservedHeaders are headers an auth block must not set: they frame the
// message or the hop, and the transport owns them.
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authorization": true, "Proxy-Authenticate": true,
	"Te": true, "Trailer": true, "Upgrade": true,
}

// auth checks a named credential's auth: block and builds its Spec. It
// checks shape and that secret files can be opened; it never reads a
// secret. region is the credential's connection region ("" if unknown),
// the default for aws_sigv4.region.
func (c *compiler) auth(p, name string, r rawAuth, region string) credauth.Spec {
	spec := credauth.Spec{PassClientAuthorization: r.PassClientAuthorization}
	var kinds []string
	if r.Basic != nil {
		kinds = append(kinds, "basic")
		spec.Basic = c.basic(p+".basic", name, *r.Basic)
	}
	if r.Bearer != nil {
		kinds = append(kinds, "bearer")
		spec.Bearer = &credauth.BearerSpec{Token: c.secret(p+".bearer", name, "token", r.Bearer.TokenFile, r.Bearer.TokenEnv)}
	}
	if r.Headers != nil {
		kinds = append(kinds, "headers")
		spec.Headers = c.headers(p+".headers", name, r.Headers)
	}
	if r.OAuth2 != nil {
		kinds = append(kinds, "oauth2_client_credentials")
		spec.OAuth2 = c.oauth2(p+".oauth2_client_credentials", name, *r.OAuth2)
	}
	if r.SigV4 != nil {
		kinds = append(kinds, "aws_sigv4")
		spec.SigV4 = c.sigv4(p+".aws_sigv4", *r.SigV4, region)
	}
	if len(kinds) > 1 {
		c.errorf(p, ErrInvalid, "named credential %q: set exactly one of basic, bearer, headers, oauth2_client_credentials, aws_sigv4; found %s",
			name, strings.Join(kinds, " and "))
	}
	return spec
}

// secret checks that exactly one of file and env names the secret (keys
// <what>_file and <what>_env under p) and that the file can be opened.
func (c *compiler) secret(p, name, what, file, env string) credauth.Secret {
	fileKey, envKey := p+"."+what+"_file", p+"."+what+"_env"
	switch {
	case file != "" && env != "":
		c.errorf(p, ErrInvalid, "named credential %q: set %s_file or %s_env, not both", name, what, what)
	case file == "" && env == "":
		c.errorf(p, ErrMissing, "named credential %q: set %s_file or %s_env", name, what, what)
	}
	s := credauth.Secret{File: c.resolvePath(file), Env: env}
	if s.File != "" {
		c.checkReadable(fileKey, fmt.Sprintf("named credential %q: secret file", name), s.File)
	}
	if env != "" && !reEnvName.MatchString(env) {
		c.errorf(envKey, ErrInvalid, "%q is not an environment variable name", env)
	}
	return s
}

func (c *compiler) basic(p, name string, r rawBasic) *credauth.BasicSpec {
	switch {
	case r.Username == "":
		c.errorf(p+".username", ErrMissing, "named credential %q: a username is required", name)
	case strings.Contains(r.Username, ":"):
		c.errorf(p+".username", ErrInvalid, "a Basic username cannot contain ':' (RFC 7617 §2)")
	case !httpguts.ValidHeaderFieldValue(r.Username):
		c.errorf(p+".username", ErrInvalid, "the username holds control characters")
	}
	return &credauth.BasicSpec{Username: r.Username, Password: c.secret(p, name, "password", r.PasswordFile, r.PasswordEnv)}
}

func (c *compiler) headers(p, name string, hs []rawHeader) []credauth.HeaderSpec {
	if len(hs) == 0 {
		c.errorf(p, ErrMissing, "named credential %q: headers must list at least one header", name)
		return nil
	}
	if !c.complete(p, len(hs)) {
		return nil
	}
	out := make([]credauth.HeaderSpec, 0, len(hs))
	seen := make(map[string]int, len(hs))
	for i, h := range hs {
		hp := fmt.Sprintf("%s[%d]", p, i)
		canon := http.CanonicalHeaderKey(h.Name)
		switch {
		case h.Name == "":
			c.errorf(hp+".name", ErrMissing, "a header name is required")
		case !httpguts.ValidHeaderFieldName(h.Name):
			c.errorf(hp+".name", ErrInvalid, "%q is not a valid header name", h.Name)
		case reservedHeaders[canon]:
			c.errorf(hp+".name", ErrInvalid, "%s is managed by the transport and cannot be set", canon)
		default:
			if j, dup := seen[canon]; dup {
				c.errorf(hp+".name", ErrDuplicate, "%s is also set by %s[%d]", canon, p, j)
			}
			seen[canon] = i
		}
		spec := credauth.HeaderSpec{Name: h.Name}
		n := 0
		if h.Value != nil {
			n++
			spec.Value = *h.Value
			if !httpguts.ValidHeaderFieldValue(*h.Value) {
				c.errorf(hp+".value", ErrInvalid, "the value holds characters not allowed in a header")
			}
		}
		if h.ValueFile != "" || h.ValueEnv != "" {
			n++
			s := c.secret(hp, name, "value", h.ValueFile, h.ValueEnv)
			spec.Secret = &s
		}
		switch {
		case n == 0:
			c.errorf(hp, ErrMissing, "named credential %q: set one of value, value_file or value_env", name)
		case n > 1:
			c.errorf(hp, ErrInvalid, "named credential %q: set one of value, value_file or value_env, not several", name)
		}
		out = append(out, spec)
	}
	return out
}

func (c *compiler) oauth2(p, name string, r rawOAuth2) *credauth.OAuth2Spec {
	if r.TokenURL == "" {
		c.errorf(p+".token_url", ErrMissing, "named credential %q: the token endpoint URL is required", name)
	} else {
		// https only: the request carries the client secret, and its
		// answer a bearer token.
		c.httpURL(p+".token_url", r.TokenURL, true, "put the client secret in client_secret_file or client_secret_env")
	}
	if r.ClientID == "" {
		c.errorf(p+".client_id", ErrMissing, "named credential %q: a client_id is required", name)
	}
	if c.complete(p+".scopes", len(r.Scopes)) {
		for i, s := range r.Scopes {
			// RFC 6749 §3.3: scope tokens are space-separated, so none holds a space.
			if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
				c.errorf(fmt.Sprintf("%s.scopes[%d]", p, i), ErrInvalid, "%q is not a scope token", s)
			}
		}
	}
	return &credauth.OAuth2Spec{
		TokenURL: r.TokenURL, ClientID: r.ClientID,
		ClientSecret: c.secret(p, name, "client_secret", r.ClientSecretFile, r.ClientSecretEnv),
		Scopes:       r.Scopes, Audience: r.Audience,
		EarlyExpiry: c.duration(p+".early_expiry", r.EarlyExpiry, 0),
	}
}

func (c *compiler) sigv4(p string, r rawSigV4, region string) *credauth.SigV4Spec {
	if r.Service == "" {
		c.errorf(p+".service", ErrMissing, "the AWS service name to sign for (e.g. execute-api) is required")
	} else if !reService.MatchString(r.Service) {
		c.errorf(p+".service", ErrInvalid, "%q is not an AWS signing service name", r.Service)
	}
	s := &credauth.SigV4Spec{Service: r.Service, Region: r.Region, RoleARN: r.RoleARN, UnsignedPayload: r.UnsignedPayload}
	if s.Region == "" {
		s.Region = region
	} else {
		c.region(p+".region", s.Region)
	}
	if r.RoleARN != "" && !reRoleARN.MatchString(r.RoleARN) {
		c.errorf(p+".role_arn", ErrInvalid, "%q is not an IAM role ARN", r.RoleARN)
	}
	return s
}
