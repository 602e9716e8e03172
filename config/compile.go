package config

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/callgate/callgate/internal/safeurl"
	"github.com/callgate/callgate/routing"
)

// compile validates the decoded file and builds the typed Config. It
// records every problem and returns a Config even when there are some;
// Parse discards it then.
func (c *compiler) compile(r *rawConfig) *Config {
	cfg := &Config{
		Listen:   c.listen(r.Listen),
		Engine:   c.engine(r.Engine),
		Warmup:   c.duration("warmup", r.Warmup, 0),
		Sync:     Sync{Interval: c.duration("sync.interval", r.Sync.Interval, MinSyncInterval)},
		AWS:      c.aws(r.AWS),
		Resolve:  c.resolve(r.Resolve),
		TLS:      c.listenerTLS(r.TLS),
		Timeouts: c.timeouts(r.Timeouts),
		Limits:   c.limits(r.Limits),
		Admin:    c.admin(r.Admin),
		Probe:    c.probe(r.Probe),
		Shutdown: Shutdown{
			Drain:      c.duration("shutdown.drain", r.Shutdown.Drain, 0),
			ReadyDelay: c.duration("shutdown.ready_delay", r.Shutdown.ReadyDelay, 0),
		},
	}
	var regions map[string]string
	cfg.Connections, regions = c.connections(r.OutboundConnections, cfg.AWS)
	cfg.NamedCredentials = c.namedCredentials(r.NamedCredentials, regions)
	cfg.Clients, cfg.ProxyAuth = c.clients(r.Clients, r.ProxyAuth, cfg.NamedCredentials)
	return cfg
}

// duration checks d ≥ floor; floor 0 allows zero but not negative values.
func (c *compiler) duration(key string, d, floor time.Duration) time.Duration {
	switch {
	case d < 0:
		c.errorf(key, ErrInvalid, "must not be negative, got %s", d)
	case d < floor:
		c.errorf(key, ErrInvalid, "must be at least %s, got %s", floor, d)
	}
	return d
}

// positive checks d > 0, for timeouts where zero would mean "wait forever".
func (c *compiler) positive(key string, d time.Duration) time.Duration {
	if d <= 0 {
		c.errorf(key, ErrInvalid, "must be positive, got %s", d)
	}
	return d
}

func (c *compiler) listen(r rawListen) Listen {
	l := Listen{Proxy: c.listenAddr("listen.proxy", r.Proxy), Admin: c.listenAddr("listen.admin", r.Admin),
		Names: c.hostList("listen.names", r.Names)}
	if l.Proxy != "" && l.Proxy == l.Admin && !strings.HasSuffix(l.Proxy, ":0") {
		c.errorf("listen.admin", ErrDuplicate, "%s is also listen.proxy; the two listeners need different addresses", l.Admin)
	}
	return l
}

// listenAddr checks a host:port to listen on; the host may be empty (all
// interfaces) and the port 0 (any free port, as tests use).
func (c *compiler) listenAddr(key, v string) string {
	if v == "" {
		c.errorf(key, ErrMissing, "an address host:port is required")
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		c.errorf(key, ErrInvalid, "want host:port, got %q", safeurl.Redact(v)) // a URL pasted here may hold a password
		return v
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		c.errorf(key, ErrInvalid, "port %q is not a number in 0..65535", port)
	}
	if host != "" {
		if _, _, err := routing.NormalizeHost(host); err != nil {
			c.errorf(key, ErrInvalid, "host %q is not an IP address or DNS name", host)
		}
	}
	return v
}

// dialAddr checks a host:port to connect to: both parts required.
func (c *compiler) dialAddr(key, v string) {
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		c.errorf(key, ErrInvalid, "want host:port, got %q", safeurl.Redact(v)) // a URL pasted here may hold a password
		return
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		c.errorf(key, ErrInvalid, "port %q is not a number in 1..65535", port)
	}
	if _, _, err := routing.NormalizeHost(host); err != nil {
		c.errorf(key, ErrInvalid, "host %q is not an IP address or DNS name", host)
	}
}

// httpURL checks an absolute http(s) URL with a host and no userinfo
// (https alone when httpsOnly); where says where credentials go instead.
// Messages quote the URL redacted: config errors reach reload logs and
// the admin API, and userinfo may hold a password or token.
func (c *compiler) httpURL(key, v string, httpsOnly bool, where string) {
	u, err := safeurl.Parse(v)
	switch {
	case err != nil:
		c.errorf(key, ErrInvalid, "not a URL: %v", err)
	case u.User != nil:
		c.errorf(key, ErrInvalid, "%q: the URL must not contain userinfo (a user name or password); %s", safeurl.Redact(v), where)
	case httpsOnly && (u.Scheme != "https" || u.Host == ""):
		c.errorf(key, ErrInvalid, "want an absolute https:// URL, got %q", safeurl.Redact(v))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		c.errorf(key, ErrInvalid, "want an absolute http:// or https:// URL, got %q", safeurl.Redact(v))
	}
}

// noURLCredentials is httpURL's where for URLs that need no credentials.
const noURLCredentials = "callgate never sends credentials in a URL"

var (
	reRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	reVpcID  = regexp.MustCompile(`^vpc-[0-9a-f]{1,17}$`)
	reSubnet = regexp.MustCompile(`^subnet-[0-9a-f]{1,17}$`)
	reSG     = regexp.MustCompile(`^sg-[0-9a-f]{1,17}$`)
)

func (c *compiler) region(key, v string) {
	if !reRegion.MatchString(v) {
		c.errorf(key, ErrInvalid, "%q is not an AWS region name like us-east-1", v)
	}
}

func (c *compiler) aws(r rawAWS) AWS {
	a := AWS{
		Mode: r.Mode, Region: r.Region, EndpointURL: r.EndpointURL, VpcID: r.VpcID,
		SubnetIDs: r.SubnetIDs, SecurityGroupIDs: r.SecurityGroupIDs,
	}
	if r.Mode != ModeSimulated && r.Mode != ModeAWS {
		c.errorf("aws.mode", ErrInvalid, "want %s or %s, got %q", ModeSimulated, ModeAWS, r.Mode)
	}
	if r.Region == "" {
		c.errorf("aws.region", ErrMissing, "a region is required")
	} else {
		c.region("aws.region", r.Region)
	}
	if r.EndpointURL != "" {
		c.httpURL("aws.endpoint_url", r.EndpointURL, false, noURLCredentials)
	}
	a.Regions = c.networks(r)
	a.Simulated = c.simulated(r.Simulated)
	return a
}

func (c *compiler) idList(key string, ids []string, re *regexp.Regexp, what string) {
	if !c.complete(key, len(ids)) {
		return
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		k := fmt.Sprintf("%s[%d]", key, i)
		if !re.MatchString(id) {
			c.errorf(k, ErrInvalid, "%q is not %s", id, what)
		}
		if j, dup := seen[id]; dup {
			c.errorf(k, ErrDuplicate, "%q is listed twice (also %s[%d])", id, key, j)
		}
		seen[id] = i
	}
}

func (c *compiler) simulated(r rawSimulated) Simulated {
	s := Simulated{Acceptance: r.Acceptance, Services: r.Services}
	if r.Acceptance != AcceptanceAuto && r.Acceptance != AcceptanceManual {
		c.errorf("aws.simulated.acceptance", ErrInvalid, "want %s or %s, got %q", AcceptanceAuto, AcceptanceManual, r.Acceptance)
	}
	const p = "aws.simulated.delays."
	s.Delays = SimulatedDelays{
		Allocating:        c.duration(p+"allocating", r.Delays.Allocating, 0),
		PendingAcceptance: c.duration(p+"pending_acceptance", r.Delays.PendingAcceptance, 0),
		Pending:           c.duration(p+"pending", r.Delays.Pending, 0),
		Deleting:          c.duration(p+"deleting", r.Delays.Deleting, 0),
	}
	for _, name := range sortedKeys(r.Services) {
		key := "aws.simulated.services[" + strconv.Quote(name) + "]"
		if msg := checkServiceName(name); msg != "" {
			c.errorf(key, ErrInvalid, "%s", msg)
		}
		c.dialAddr(key, r.Services[name])
	}
	return s
}

// resolve validates each override on its own (routing.CompileOverrides
// stops at the first) so each problem gets its line.
func (c *compiler) resolve(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	byNorm := make(map[string]string, len(m))
	for _, name := range sortedKeys(m) {
		key := "resolve[" + strconv.Quote(name) + "]"
		if _, err := routing.CompileOverrides(map[string]string{name: m[name]}); err != nil {
			msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("resolve %q: ", name))
			c.errorf(key, ErrInvalid, "%s", msg)
			continue
		}
		norm, _, _ := routing.NormalizeHost(strings.TrimPrefix(name, "*."))
		if strings.HasPrefix(name, "*.") {
			norm = "*." + norm
		}
		if other, dup := byNorm[norm]; dup {
			c.errorf(key, ErrDuplicate, "the same name as resolve[%q] (names compare case-insensitively, without a trailing dot)", other)
		}
		byNorm[norm] = name
	}
	return m
}

func (c *compiler) timeouts(r rawTimeouts) Timeouts {
	const p = "timeouts."
	return Timeouts{
		HeaderRead:     c.positive(p+"header_read", r.HeaderRead),
		Dial:           c.positive(p+"dial", r.Dial),
		TLSHandshake:   c.positive(p+"tls_handshake", r.TLSHandshake),
		ResponseHeader: c.positive(p+"response_header", r.ResponseHeader),
		IdleTunnel:     c.positive(p+"idle_tunnel", r.IdleTunnel),
		IdleConn:       c.positive(p+"idle_conn", r.IdleConn),
	}
}

// Bounds of limits.max_header_bytes and max_response_header_bytes: below
// 8 KiB ordinary messages with a cookie or a token fail (and net/http cannot
// enforce less than 4 KiB); above 16 MiB one message could hold a lot of
// memory.
const (
	minHeaderBytes = 8 << 10
	maxHeaderBytes = 16 << 20
)

func (c *compiler) limits(r rawLimits) Limits {
	for _, k := range []struct {
		key string
		v   int
	}{{"limits.max_header_bytes", r.MaxHeaderBytes}, {"limits.max_response_header_bytes", r.MaxResponseHeaderBytes}} {
		if k.v < minHeaderBytes || k.v > maxHeaderBytes {
			c.errorf(k.key, ErrInvalid, "must be between %d and %d, got %d", minHeaderBytes, maxHeaderBytes, k.v)
		}
	}
	l := c.flowLimits(r)
	l.MaxHeaderBytes = r.MaxHeaderBytes
	l.MaxResponseHeaderBytes = r.MaxResponseHeaderBytes
	return l
}

func (c *compiler) engine(v string) string {
	if v != EngineFast && v != EngineStdlib {
		c.errorf("engine", ErrInvalid, "must be %q or %q, got %q", EngineFast, EngineStdlib, v)
	}
	return v
}

func (c *compiler) admin(r rawAdmin) Admin {
	hosts := c.hostList("admin.hosts", r.Hosts)
	if r.TokenFile == "" {
		if r.ProtectReads {
			c.errorf("admin.protect_reads", ErrInvalid, "needs admin.token_file: there is no token to require")
		}
		return Admin{Hosts: hosts}
	}
	p := c.resolvePath(r.TokenFile)
	if c.checkReadable("admin.token_file", "admin token file", p) {
		// An empty token would leave the POST routes open while the
		// operator believes them protected.
		if b, err := readSmall(p); err != nil {
			c.errorf("admin.token_file", ErrFile, "admin token file %q: %v", p, err)
		} else if len(strings.TrimSpace(string(b))) == 0 {
			c.errorf("admin.token_file", ErrFile, "admin token file %q is empty", p)
		}
	}
	return Admin{TokenFile: p, ProtectReads: r.ProtectReads, Hosts: hosts}
}
