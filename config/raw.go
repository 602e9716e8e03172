package config

import "time"

// The raw* types are the YAML shape of the file, decoded strictly
// (KnownFields) and never handed to other packages: compile turns them into
// the typed Config. Optional blocks are pointers so "absent" differs from
// "empty"; lists of structs get no UnmarshalYAML of their own because yaml.v3
// drops a list element whose unmarshaler fails, which would shift the
// indices that error messages report.

type rawConfig struct {
	Listen              rawListen            `yaml:"listen"`
	Engine              string               `yaml:"engine"`
	Warmup              time.Duration        `yaml:"warmup"`
	Sync                rawSync              `yaml:"sync"`
	AWS                 rawAWS               `yaml:"aws"`
	Resolve             map[string]string    `yaml:"resolve"`
	TLS                 rawListenerTLS       `yaml:"tls"`
	Timeouts            rawTimeouts          `yaml:"timeouts"`
	Limits              rawLimits            `yaml:"limits"`
	ProxyAuth           rawProxyAuth         `yaml:"proxy_auth"`
	Clients             []rawClient          `yaml:"clients"`
	Admin               rawAdmin             `yaml:"admin"`
	Shutdown            rawShutdown          `yaml:"shutdown"`
	Probe               rawProbe             `yaml:"probe"`
	OutboundConnections []rawConnection      `yaml:"outbound_connections"`
	NamedCredentials    []rawNamedCredential `yaml:"named_credentials"`
}

type rawListen struct {
	Proxy string   `yaml:"proxy"`
	Admin string   `yaml:"admin"`
	Names []string `yaml:"names"`
}

type rawSync struct {
	Interval time.Duration `yaml:"interval"`
}

type rawAWS struct {
	Mode             string   `yaml:"mode"`
	Region           string   `yaml:"region"`
	EndpointURL      string   `yaml:"endpoint_url"`
	VpcID            string   `yaml:"vpc_id"`
	SubnetIDs        []string `yaml:"subnet_ids"`
	SecurityGroupIDs []string `yaml:"security_group_ids"`
	// Regions holds the network settings of the regions other than
	// Region, whose settings are the three keys above.
	Regions   map[string]rawNetwork `yaml:"regions"`
	Simulated rawSimulated          `yaml:"simulated"`
}

type rawNetwork struct {
	VpcID            string   `yaml:"vpc_id"`
	SubnetIDs        []string `yaml:"subnet_ids"`
	SecurityGroupIDs []string `yaml:"security_group_ids"`
}

type rawSimulated struct {
	Acceptance string            `yaml:"acceptance"`
	Delays     rawDelays         `yaml:"delays"`
	Services   map[string]string `yaml:"services"`
}

type rawDelays struct {
	Allocating        time.Duration `yaml:"allocating"`
	PendingAcceptance time.Duration `yaml:"pending_acceptance"`
	Pending           time.Duration `yaml:"pending"`
	Deleting          time.Duration `yaml:"deleting"`
}

type rawListenerTLS struct {
	Listeners []string `yaml:"listeners"`
	CertFile  string   `yaml:"cert_file"`
	KeyFile   string   `yaml:"key_file"`
	ACME      *rawACME `yaml:"acme"`
}

type rawACME struct {
	CA          string   `yaml:"ca"`
	Email       string   `yaml:"email"`
	Domains     []string `yaml:"domains"`
	CARootFile  string   `yaml:"ca_root_file"`
	StorageDir  string   `yaml:"storage_dir"`
	ListenHost  string   `yaml:"listen_host"`
	HTTPPort    int      `yaml:"http_port"`
	TLSALPNPort int      `yaml:"tls_alpn_port"`
}

type rawTimeouts struct {
	HeaderRead     time.Duration `yaml:"header_read"`
	Dial           time.Duration `yaml:"dial"`
	TLSHandshake   time.Duration `yaml:"tls_handshake"`
	ResponseHeader time.Duration `yaml:"response_header"`
	IdleTunnel     time.Duration `yaml:"idle_tunnel"`
	IdleConn       time.Duration `yaml:"idle_conn"`
}

type rawLimits struct {
	MaxHeaderBytes         int                 `yaml:"max_header_bytes"`
	MaxResponseHeaderBytes int                 `yaml:"max_response_header_bytes"`
	MaxTunnels             int                 `yaml:"max_tunnels"`
	MaxRequests            int                 `yaml:"max_requests"`
	PerCredential          rawCredentialLimits `yaml:"per_credential"`
	ClientRate             rawRate             `yaml:"client_rate"`
}

type rawCredentialLimits struct {
	MaxTunnels  int `yaml:"max_tunnels"`
	MaxRequests int `yaml:"max_requests"`
}

type rawRate struct {
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
}

type rawProxyAuth struct {
	Required   bool            `yaml:"required"`
	Realm      string          `yaml:"realm"`
	Throttle   rawAuthThrottle `yaml:"throttle"`
	BcryptWait time.Duration   `yaml:"bcrypt_wait"`
}

type rawAuthThrottle struct {
	PerSource rawFailureRate `yaml:"per_source"`
	PerUser   rawFailureRate `yaml:"per_user"`
}

type rawFailureRate struct {
	FailuresPerSecond float64 `yaml:"failures_per_second"`
	Burst             int     `yaml:"burst"`
}

type rawClient struct {
	Name      string          `yaml:"name"`
	Basic     *rawClientBasic `yaml:"basic"`
	TokenFile string          `yaml:"token_file"`
	CIDRs     []string        `yaml:"cidrs"`
	Permit    []string        `yaml:"permit"`
}

type rawClientBasic struct {
	Username     string `yaml:"username"`
	PasswordHash string `yaml:"password_hash"`
	PasswordFile string `yaml:"password_file"`
}

type rawAdmin struct {
	TokenFile    string   `yaml:"token_file"`
	ProtectReads bool     `yaml:"protect_reads"`
	Hosts        []string `yaml:"hosts"`
}

type rawShutdown struct {
	Drain      time.Duration `yaml:"drain"`
	ReadyDelay time.Duration `yaml:"ready_delay"`
}

type rawConnection struct {
	Name          string `yaml:"name"`
	Description   string `yaml:"description"`
	Type          string `yaml:"type"`
	ServiceName   string `yaml:"service_name"`
	Region        string `yaml:"region"`
	Provision     bool   `yaml:"provision"`
	VpcEndpointID string `yaml:"vpc_endpoint_id"`
}

type rawNamedCredential struct {
	Name                      string            `yaml:"name"`
	URL                       string            `yaml:"url"`
	OutboundNetworkConnection string            `yaml:"outbound_network_connection"`
	TLS                       *rawCredentialTLS `yaml:"tls"`
	Auth                      *rawAuth          `yaml:"auth"`
}

type rawCredentialTLS struct {
	CAFile         string `yaml:"ca_file"`
	ClientCertFile string `yaml:"client_cert_file"`
	ClientKeyFile  string `yaml:"client_key_file"`
}

type rawAuth struct {
	Basic                   *rawBasic   `yaml:"basic"`
	Bearer                  *rawBearer  `yaml:"bearer"`
	Headers                 []rawHeader `yaml:"headers"`
	OAuth2                  *rawOAuth2  `yaml:"oauth2_client_credentials"`
	SigV4                   *rawSigV4   `yaml:"aws_sigv4"`
	PassClientAuthorization bool        `yaml:"pass_client_authorization"`
}

type rawBasic struct {
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
}

type rawBearer struct {
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`
}

type rawHeader struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"` // nil when absent, so an empty literal is still "set"
	ValueFile string  `yaml:"value_file"`
	ValueEnv  string  `yaml:"value_env"`
}

type rawOAuth2 struct {
	TokenURL         string        `yaml:"token_url"`
	ClientID         string        `yaml:"client_id"`
	ClientSecretFile string        `yaml:"client_secret_file"`
	ClientSecretEnv  string        `yaml:"client_secret_env"`
	Scopes           []string      `yaml:"scopes"`
	Audience         string        `yaml:"audience"`
	EarlyExpiry      time.Duration `yaml:"early_expiry"`
}

type rawSigV4 struct {
	Service         string `yaml:"service"`
	Region          string `yaml:"region"`
	RoleARN         string `yaml:"role_arn"`
	UnsignedPayload bool   `yaml:"unsigned_payload"`
}

// Defaults of docs/config.md and of the keys callgate adds to it.
const (
	DefaultProxyListen    = "127.0.0.1:3128"
	DefaultAdminListen    = "127.0.0.1:9090"
	DefaultWarmup         = 5 * time.Minute
	DefaultSyncInterval   = 30 * time.Second
	DefaultRegion         = "us-east-1"
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxResponseHeaderBytes caps an endpoint's response header
	// block, as DefaultMaxHeaderBytes caps a client's request.
	DefaultMaxResponseHeaderBytes = 64 << 10
	// EngineFast and EngineStdlib are the values of engine.
	EngineFast   = "fast"
	EngineStdlib = "stdlib"
	// MinSyncInterval keeps a typo like "30ms" from hammering the EC2 API.
	MinSyncInterval = time.Second
)

// defaultRaw is the config an empty mapping means. Lists and maps stay nil:
// yaml.v3 creates their elements, and compile defaults those per element.
func defaultRaw() rawConfig {
	return rawConfig{
		Listen: rawListen{Proxy: DefaultProxyListen, Admin: DefaultAdminListen},
		Warmup: DefaultWarmup,
		Sync:   rawSync{Interval: DefaultSyncInterval},
		AWS: rawAWS{
			Mode:   ModeSimulated,
			Region: DefaultRegion,
			Simulated: rawSimulated{
				Acceptance: AcceptanceAuto,
				Delays: rawDelays{
					Allocating:        time.Second,
					PendingAcceptance: 2 * time.Second,
					Pending:           2 * time.Second,
					Deleting:          time.Second,
				},
			},
		},
		Timeouts: rawTimeouts{
			HeaderRead:     10 * time.Second,
			Dial:           10 * time.Second,
			TLSHandshake:   10 * time.Second,
			ResponseHeader: 30 * time.Second,
			IdleTunnel:     5 * time.Minute,
			IdleConn:       90 * time.Second,
		},
		Engine: EngineFast,
		Limits: rawLimits{MaxHeaderBytes: DefaultMaxHeaderBytes, MaxResponseHeaderBytes: DefaultMaxResponseHeaderBytes},
		ProxyAuth: rawProxyAuth{
			Realm: DefaultRealm,
			Throttle: rawAuthThrottle{
				PerSource: rawFailureRate(DefaultAuthThrottle.PerSource),
				PerUser:   rawFailureRate(DefaultAuthThrottle.PerUser),
			},
			BcryptWait: DefaultBcryptWait,
		},
		Shutdown: rawShutdown{Drain: 30 * time.Second},
		Probe:    defaultProbe(),
	}
}

// UnmarshalYAML fills the defaults before decoding, so keys the file leaves
// out keep them (the blackbox_exporter pattern). It uses the callback form
// so the decoder's KnownFields setting applies to the nested decode.
func (c *rawConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = defaultRaw()
	type plain rawConfig // no methods, so no recursion
	return unmarshal((*plain)(c))
}
