// Package safeurl prints URLs taken from configuration without what their
// userinfo may hold: config errors end up in reload logs and API answers,
// and a URL like https://user:secret@host carries a secret.
package safeurl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Mask stands in for a URL's userinfo.
const Mask = "xxxxx"

// Redact returns raw with its userinfo, user name and password both (a
// token is often passed as the user name), replaced by Mask. A raw that
// does not parse, or parses only as an opaque URL, is masked up to its
// authority's last '@', since a parse error is exactly when a URL gets
// printed. Anything without userinfo is returned unchanged.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.User != nil {
			c := *u
			c.User = url.User(Mask)
			return c.String()
		}
		// "user:pw@host" parses as scheme "user" with an opaque rest.
		if u.Opaque == "" {
			return raw
		}
	}
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		return prefix + Mask + rest[at:]
	}
	return raw
}

// Parse is url.Parse with an error that quotes raw redacted; url.Parse's
// own error quotes it whole, password and all.
func Parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err == nil {
		return u, nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return nil, fmt.Errorf("parse %q: %w", Redact(raw), err)
}
