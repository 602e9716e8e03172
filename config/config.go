// Package config owns callgate's YAML config file (docs/config.md): its shape,
// strict decoding, defaults and validation. Load and Parse return a
// compiled, typed *Config with every default filled and every referenced
// file checked; other packages never see the YAML structs. docs/config.md is
// the reference for every key, kept in step by a test.
package config

import (
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/credauth"
	"github.com/callgate/callgate/routing"
)

// Values of aws.mode and aws.simulated.acceptance.
const (
	ModeSimulated    = "simulated" // the embedded AWS simulation (default)
	ModeAWS          = "aws"       // the real EC2 and STS APIs
	AcceptanceAuto   = "auto"      // the simulated service owner accepts by itself
	AcceptanceManual = "manual"    // accept/reject through the admin API
)

// Listener names, as tls.listeners spells them.
const (
	ListenerProxy = "proxy"
	ListenerAdmin = "admin"
)

// Config is one loaded, validated config file. It is immutable once
// returned: a reload loads a new one. Relative file paths in the file are
// resolved against the config file's directory.
type Config struct {
	File string // path given to Load, or the name given to Parse
	Hash string // hex SHA-256 of the file's bytes

	Listen   Listen
	Engine   string        // EngineFast or EngineStdlib; restart to change
	Warmup   time.Duration // zero turns warm-up off
	Sync     Sync
	AWS      AWS
	Resolve  map[string]string // name or "*.suffix" → IP; nil when none (see routing.CompileOverrides)
	TLS      ListenerTLS
	Timeouts Timeouts
	Limits   Limits
	Admin    Admin
	Shutdown Shutdown
	Probe    Probe

	// Clients are the proxy client identities in file order; nil when the
	// file lists none, and then every client may use every named credential.
	Clients   []Client
	ProxyAuth ProxyAuth

	// Connections are the outbound connections in file order, with Type
	// and Region defaulted.
	Connections []connstate.Connection
	// NamedCredentials are in file order; each has its TLS config built.
	NamedCredentials []NamedCredential
}

// Listen holds the addresses of callgate's own listeners (host:port; port
// 0 picks a free port).
type Listen struct {
	Proxy string
	Admin string
	// Names are the proxy listener's own names (host or host:port,
	// normalised), besides its address: an absolute-form /callout/ request
	// to one of them is the callout form. Nil when none.
	Names []string
}

// Sync is the steady-state control loop period.
type Sync struct {
	Interval time.Duration // at least MinSyncInterval
}

// AWS selects and configures the backend that provisions endpoints.
type AWS struct {
	Mode        string // ModeSimulated or ModeAWS
	Region      string // default region of connections and of the API clients
	EndpointURL string // EC2/STS endpoint override; "" uses AWS's endpoints
	// VpcID, SubnetIDs and SecurityGroupIDs place the endpoints of Region;
	// unused by the simulation.
	VpcID            string
	SubnetIDs        []string
	SecurityGroupIDs []string
	// Regions place the endpoints of the other regions (aws.regions), by
	// region name; nil when none. In ModeAWS every region of a connection
	// callgate creates endpoints for has settings here or above.
	Regions   map[string]Network
	Simulated Simulated // used only in ModeSimulated
}

// Network is where one region's endpoints go.
type Network struct {
	VpcID            string
	SubnetIDs        []string
	SecurityGroupIDs []string
}

// Network returns the network settings of region, and false when it has
// none.
func (a AWS) Network(region string) (Network, bool) {
	if region == a.Region && (a.VpcID != "" || len(a.SubnetIDs) > 0 || len(a.SecurityGroupIDs) > 0) {
		return Network{VpcID: a.VpcID, SubnetIDs: a.SubnetIDs, SecurityGroupIDs: a.SecurityGroupIDs}, true
	}
	n, ok := a.Regions[region]
	return n, ok
}

// Networks returns every region's network settings, the default region's
// included, by region name.
func (a AWS) Networks() map[string]Network {
	out := make(map[string]Network, len(a.Regions)+1)
	for r, n := range a.Regions {
		out[r] = n
	}
	if n, ok := a.Network(a.Region); ok {
		out[a.Region] = n
	}
	return out
}

// Simulated configures the embedded AWS simulation.
type Simulated struct {
	Acceptance string // AcceptanceAuto or AcceptanceManual
	Delays     SimulatedDelays
	// Services maps a VPC endpoint service name to the host:port its
	// simulated endpoints lead to; nil when none.
	Services map[string]string
}

// SimulatedDelays is how long the simulation holds each transitional state;
// zero moves on at once.
type SimulatedDelays struct {
	Allocating        time.Duration
	PendingAcceptance time.Duration
	Pending           time.Duration
	Deleting          time.Duration
}

// ListenerTLS is TLS on callgate's own listeners. When Listeners is empty
// the other fields are empty too and every listener serves plain TCP.
// Otherwise exactly one source is set: CertFile with KeyFile, or ACME.
type ListenerTLS struct {
	Listeners []string // subset of ListenerProxy, ListenerAdmin
	CertFile  string
	KeyFile   string
	ACME      *ACME // nil unless ACME issues the certificate
}

// Enabled reports whether the named listener ("proxy" or "admin") serves TLS.
func (t ListenerTLS) Enabled(listener string) bool {
	for _, l := range t.Listeners {
		if l == listener {
			return true
		}
	}
	return false
}

// ACME configures certificate issuance and renewal for the listeners.
type ACME struct {
	CA         string   // directory URL; "" means the certmagic default (Let's Encrypt)
	Email      string   // account contact; may be empty
	Domains    []string // at least one; the first serves clients without SNI
	CARootFile string   // PEM roots for the ACME server's own TLS; "" means system roots
	StorageDir string   // where certificates and accounts live; "" means certmagic's default
	// ListenHost, HTTPPort and TLSALPNPort are where the HTTP-01 and
	// TLS-ALPN-01 challenge solvers listen (behind a port mapping); zero
	// ports mean 80 and 443.
	ListenHost  string
	HTTPPort    int
	TLSALPNPort int
}

// Timeouts bound each phase of a proxied request; none is zero.
type Timeouts struct {
	HeaderRead     time.Duration // reading a client's request header
	Dial           time.Duration // TCP connect to the endpoint
	TLSHandshake   time.Duration // TLS with the endpoint (callout form)
	ResponseHeader time.Duration // waiting for the endpoint's response header
	IdleTunnel     time.Duration // a CONNECT tunnel with no bytes either way
	IdleConn       time.Duration // an idle keep-alive connection, either side
}

// Limits bound what one client can make callgate hold. Zero counts and
// rates mean no limit. Only the two header limits need a restart to change.
type Limits struct {
	MaxHeaderBytes         int   // request line and header block, bytes
	MaxResponseHeaderBytes int   // an endpoint's response header block, bytes
	MaxTunnels             int64 // open CONNECT tunnels, all named credentials together
	MaxRequests            int64 // absolute and callout requests in flight, together
	PerCredential          CredentialLimits
	ClientRate             Rate
}

// Admin configures the admin API.
type Admin struct {
	// TokenFile holds the bearer token required on the admin POST routes,
	// re-read on each use so it can rotate; "" leaves them open (the admin
	// listener is loopback by default). A file that holds no token at run
	// time closes them rather than opening them.
	TokenFile string
	// ProtectReads makes the GET routes require the token too, except
	// /healthz, /readyz and /metrics (probes and scrapers).
	ProtectReads bool
	// Hosts are the names, besides the listener's own address, that a
	// request's Host may use: "host" (any port) or "host:port", lower case,
	// an IPv6 address in brackets. Others are refused, against DNS
	// rebinding.
	Hosts []string
}

// Shutdown paces a graceful stop.
type Shutdown struct {
	// ReadyDelay keeps serving with /readyz failing for this long before
	// the proxy stops accepting; zero stops at once.
	ReadyDelay time.Duration
	// Drain is how long in-flight requests may finish; zero cuts them.
	Drain time.Duration
}

// NamedCredential is one named credential: the routing input (with TLS
// built from the files below) plus its authentication spec and the source
// files, kept for display and for change detection.
type NamedCredential struct {
	routing.Credential // Auth (the injector) is left nil: the caller builds it from Auth below
	// Auth is the `auth:` block; the zero Spec injects nothing. Secrets are
	// named (file or env), never read into the config.
	Auth           credauth.Spec
	CAFile         string // "" means system roots
	ClientCertFile string // "" means no client certificate
	ClientKeyFile  string
}

// RoutingCredentials returns a fresh slice of the named credentials'
// routing input, in file order, ready for routing.Compile. Callers may set
// Auth on the copies.
func (c *Config) RoutingCredentials() []routing.Credential {
	out := make([]routing.Credential, len(c.NamedCredentials))
	for i := range c.NamedCredentials {
		out[i] = c.NamedCredentials[i].Credential
	}
	return out
}
