package routing

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/callgate/callgate/internal/safeurl"
)

// Scheme is a named credential's URL scheme.
type Scheme uint8

const (
	// HTTP: plain HTTP; served by absolute-form requests and plain CONNECT tunnels.
	HTTP Scheme = iota + 1
	// HTTPS: TLS to the endpoint; served by CONNECT (end-to-end TLS) and by
	// the callout form (callgate originates TLS).
	HTTPS
)

func (s Scheme) String() string {
	switch s {
	case HTTP:
		return "http"
	case HTTPS:
		return "https"
	}
	return "unknown"
}

// Credential is the input for one named credential, already loaded from the
// config (files read, pools built).
type Credential struct {
	Name       string // named credential name, e.g. "PartnerOrders"
	URL        string // http(s)://host[:port][/base/path]
	Connection string // name of the outbound connection that carries it
	// TLS verifies the endpoint on the callout form. Nil means system roots
	// and no client certificate. Compile clones it and sets ServerName.
	TLS *tls.Config
	// Auth injects the credential's authentication on the callout form;
	// nil injects nothing.
	Auth Injector
	// Parsed, when set, is ParseDestination(URL) done already (the config
	// loader validates each URL with it); Compile then copies it instead of
	// parsing the URL a second time. It is used only if it was parsed from
	// this URL, and never modified.
	Parsed *Destination
}

// Destination is where one named credential leads. It is immutable once
// compiled; the hot path shares it between goroutines without locks.
type Destination struct {
	Name       string // named credential name
	Scheme     Scheme
	Host       string // normalized host (see NormalizeHost)
	Port       uint16 // explicit or scheme default
	HostPort   string // JoinHostPort(Host, Port), the canonical CONNECT target
	BasePath   string // URL path without trailing slash; "" for the root
	Connection string // outbound connection name
	// TLS is the client config for originating TLS on the callout form:
	// ServerName is Host, so the certificate is verified against the
	// named credential's host, never the endpoint's DNS name.
	TLS *tls.Config
	// Auth injects authentication on the callout form; nil injects nothing.
	Auth Injector
	// Index is the position in the table's Destinations, stable for one
	// table; metrics use it to keep pre-resolved label handles.
	Index int

	url string // what ParseDestination parsed, so Compile can trust Parsed
}

type hostEntry struct {
	dests []*Destination // one per port; tiny, scanned linearly
}

// Table maps host:port and names to destinations. A Table never changes
// after Compile; a reload compiles a new one and swaps it in.
type Table struct {
	byHost map[string]*hostEntry
	byName map[string]*Destination
	all    []*Destination
}

// Compile validates and indexes credentials. All problems are reported at
// once, joined; each names the credential.
func Compile(creds []Credential) (*Table, error) {
	t := &Table{
		byHost: make(map[string]*hostEntry, len(creds)),
		byName: make(map[string]*Destination, len(creds)),
		all:    make([]*Destination, 0, len(creds)),
	}
	var errs []error
	for _, c := range creds {
		var d *Destination
		if p := c.Parsed; p != nil && p.url == c.URL && c.URL != "" {
			cp := *p
			d = &cp
		} else {
			var err error
			if d, err = ParseDestination(c.URL); err != nil {
				errs = append(errs, fmt.Errorf("named credential %q: %w", c.Name, err))
				continue
			}
		}
		d.Name, d.Connection = c.Name, c.Connection
		d.TLS = tlsFor(c.TLS, d.Host)
		d.Auth = c.Auth
		if _, dup := t.byName[c.Name]; dup {
			errs = append(errs, fmt.Errorf("named credential %q: %w", c.Name, ErrDuplicateName))
			continue
		}
		if other := t.Lookup(d.Host, d.Port); other != nil {
			errs = append(errs, fmt.Errorf("named credential %q: %w: %s is also named credential %q",
				c.Name, ErrDuplicateDestination, d.HostPort, other.Name))
			continue
		}
		d.Index = len(t.all)
		t.all = append(t.all, d)
		t.byName[d.Name] = d
		e := t.byHost[d.Host]
		if e == nil {
			e = &hostEntry{}
			t.byHost[d.Host] = e
		}
		e.dests = append(e.dests, d)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// ParseDestination parses a named credential URL into a Destination with
// Scheme, Host, Port, HostPort and BasePath set.
func ParseDestination(raw string) (*Destination, error) {
	// Errors quote the URL redacted: they reach reload logs and the admin
	// API, and userinfo is refused precisely because it may hold a secret.
	u, err := safeurl.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	d := &Destination{url: raw}
	switch strings.ToLower(u.Scheme) {
	case "http":
		d.Scheme, d.Port = HTTP, 80
	case "https":
		d.Scheme, d.Port = HTTPS, 443
	default:
		return nil, fmt.Errorf("%w: %q: scheme must be http or https", ErrBadURL, safeurl.Redact(raw))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: %q: userinfo, query and fragment are not allowed", ErrBadURL, safeurl.Redact(raw))
	}
	host, port, err := SplitHostPort(u.Host, d.Port)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadURL, raw, err)
	}
	d.Host, _, err = NormalizeHost(host)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadURL, raw, err)
	}
	d.Port = port
	d.HostPort = JoinHostPort(d.Host, d.Port)
	d.BasePath = strings.TrimRight(u.EscapedPath(), "/")
	return d, nil
}

func tlsFor(base *tls.Config, host string) *tls.Config {
	var c *tls.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &tls.Config{}
	}
	c.ServerName = host
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// Lookup returns the destination for a normalized host and port, or nil.
// It does not allocate.
func (t *Table) Lookup(host string, port uint16) *Destination {
	if t == nil {
		return nil
	}
	e := t.byHost[host]
	if e == nil {
		return nil
	}
	for _, d := range e.dests {
		if d.Port == port {
			return d
		}
	}
	return nil
}

// LookupAuthority normalizes a client-supplied host and looks it up. It
// allocates only for hosts that need IDNA mapping or case folding beyond
// ASCII. IP literals never match: named credentials name hosts.
func (t *Table) LookupAuthority(host string, port uint16) (*Destination, error) {
	var buf [maxHostLen]byte
	if h, ok := foldASCII(host, buf[:0]); ok {
		if e := t.byHost[string(h)]; e != nil { // no allocation: map index by converted bytes
			for _, d := range e.dests {
				if d.Port == port {
					return d, nil
				}
			}
		}
		if !looksNumeric(string(h)) {
			return nil, nil
		}
		return nil, ErrIPLiteral
	}
	n, isIP, err := NormalizeHost(host)
	if err != nil {
		return nil, err
	}
	if isIP {
		return nil, ErrIPLiteral
	}
	return t.Lookup(n, port), nil
}

// foldASCII lower-cases a plain ASCII DNS name into buf and strips one
// trailing dot; ok is false when the host needs full normalization.
func foldASCII(host string, buf []byte) ([]byte, bool) {
	if len(host) == 0 || len(host) > maxHostLen || host[0] == '[' {
		return nil, false
	}
	if host[len(host)-1] == '.' {
		host = host[:len(host)-1]
		if host == "" {
			return nil, false
		}
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			if i > 0 && host[i-1] == '.' {
				return nil, false
			}
		default:
			return nil, false
		}
		buf = append(buf, c)
	}
	if bytes.HasPrefix(buf, punyPrefix) || bytes.Contains(buf, punyLabel) {
		return nil, false // punycode: validate through IDNA
	}
	return buf, true
}

// ByName returns the named credential called name, or nil.
func (t *Table) ByName(name string) *Destination {
	if t == nil {
		return nil
	}
	return t.byName[name]
}

// Destinations returns every destination in config order. Callers must not
// modify the slice.
func (t *Table) Destinations() []*Destination {
	if t == nil {
		return nil
	}
	return t.all
}

// Len is the number of named credentials.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.all)
}

var (
	punyPrefix = []byte("xn--")
	punyLabel  = []byte(".xn--")
)

// Injector adds a named credential's authentication to an outbound callout
// request (credauth implements it). Inject may block briefly (e.g. to fetch
// an OAuth 2.0 token) and honours the request's context.
type Injector interface {
	Inject(r *http.Request) error
}
