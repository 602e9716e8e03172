// Package aws is connstate's Backend on real AWS (EC2 interface VPC
// endpoints and STS) through aws-sdk-go-v2. It and connstate/simulated are
// the only packages that talk to AWS.
//
// Endpoints callgate manages are found by their callgate:connection tag in
// their region's VPC (each region has its own network and EC2 client); adopted endpoints (vpc_endpoint_id) by their ID and are
// never created or deleted. EC2 sends endpoint states in camelCase while the
// SDK's types.State constants are PascalCase (aws-sdk-go-v2 #2864), so states
// are passed on as the raw wire string and compared case-insensitively.
package aws

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
)

// DefaultMaxAttempts is the SDK retryer's attempts per call when
// Options.MaxAttempts is 0. Lower than the SDK's own default because the
// sync loop backs off on top of it.
const DefaultMaxAttempts = 3

// HTTPClient is what the SDK needs to send requests; *http.Client is one.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// Options configure a Backend. Credentials always come from the SDK's
// default chain (environment, shared config, web identity, IMDS).
type Options struct {
	// Region is the default region, used for specs without one and for STS.
	// Empty: the SDK default chain's region (AWS_REGION, shared config).
	Region string
	// EndpointURL overrides the EC2 and STS base endpoint, e.g. a local
	// emulator. Empty: AWS's own endpoints (or AWS_ENDPOINT_URL*).
	EndpointURL string
	// VpcID, SubnetIDs and SecurityGroupIDs are the default region's
	// Network; Networks holds the other regions'.
	VpcID            string
	SubnetIDs        []string
	SecurityGroupIDs []string
	// Networks are where each region's endpoints go, by region name. A
	// region without one is described by tag alone, and Create there fails
	// with ErrIncompleteOptions.
	Networks map[string]Network
	// Logger receives the backend's rare notable events (adoption,
	// duplicate clean-up). Nil: no logging.
	Logger *zap.Logger
	// Metrics counts API calls. Nil: not counted.
	Metrics *Metrics
	// HTTPClient sends the SDK's requests. Nil: the SDK's default client.
	HTTPClient HTTPClient
	// MaxAttempts is the SDK retryer's attempts per call. 0: DefaultMaxAttempts.
	MaxAttempts int
	// MaxBackoff caps the SDK retryer's delay between attempts. 0: the SDK's
	// default (20s). Tests lower it.
	MaxBackoff time.Duration
}

// Network is where one region's endpoints are created and looked up.
type Network struct {
	// VpcID is the VPC endpoints are created in and looked up by. Empty:
	// Describe finds managed endpoints by tag alone, and Create fails.
	VpcID string
	// SubnetIDs and SecurityGroupIDs are given to every created endpoint.
	// Create fails when SubnetIDs is empty; no security groups means the
	// VPC's default group.
	SubnetIDs        []string
	SecurityGroupIDs []string
}

// Backend is connstate.Backend on AWS. It is safe for concurrent use.
type Backend struct {
	opts     Options
	cfg      sdkaws.Config
	log      *zap.Logger
	networks map[string]Network // by region, the default region's included; read-only

	mu      sync.Mutex
	clients map[string]*ec2.Client // by region, made on first use
	sts     *sts.Client

	// regionOf remembers each endpoint's region (endpoint ID → region) from
	// Describe and Create, for SetReadySince, which gets only the ID.
	regionOf sync.Map
}

var _ connstate.Backend = (*Backend)(nil)

// New loads the SDK's default config (credentials, region) and returns a
// Backend. It makes no AWS call.
func New(ctx context.Context, opts Options) (*Backend, error) {
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	load := []func(*config.LoadOptions) error{
		// The standard retryer (exponential backoff with jitter, retry
		// quota), only with fewer attempts.
		config.WithRetryer(func() sdkaws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				if opts.MaxBackoff > 0 {
					o.MaxBackoff = opts.MaxBackoff
				}
			})
		}),
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.HTTPClient != nil {
		load = append(load, config.WithHTTPClient(opts.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("aws backend: load SDK config: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("aws backend: no region in the options or the SDK default chain: %w", ErrIncompleteOptions)
	}
	opts.Region = cfg.Region
	networks := make(map[string]Network, len(opts.Networks)+1)
	for r, n := range opts.Networks {
		networks[r] = n
	}
	if opts.VpcID != "" || len(opts.SubnetIDs) > 0 || len(opts.SecurityGroupIDs) > 0 {
		if _, dup := networks[opts.Region]; dup {
			return nil, fmt.Errorf("aws backend: region %s has a network in Networks and in VpcID, SubnetIDs, SecurityGroupIDs", opts.Region)
		}
		networks[opts.Region] = Network{VpcID: opts.VpcID, SubnetIDs: opts.SubnetIDs, SecurityGroupIDs: opts.SecurityGroupIDs}
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	b := &Backend{
		opts:     opts,
		cfg:      cfg,
		log:      log.Named("aws"),
		networks: networks,
		clients:  map[string]*ec2.Client{},
	}
	// Every region the config names gets its series at zero, so a
	// dashboard sees a quiet region rather than none.
	opts.Metrics.initRegion(opts.Region)
	for r := range networks {
		opts.Metrics.initRegion(r)
	}
	b.sts = sts.NewFromConfig(cfg, func(o *sts.Options) {
		if opts.EndpointURL != "" {
			o.BaseEndpoint = sdkaws.String(opts.EndpointURL)
		}
		if opts.Metrics != nil {
			o.APIOptions = append(o.APIOptions, opts.Metrics.apiOption(opts.Region))
		}
	})
	return b, nil
}

// Region is the default region in use (from Options or the SDK chain).
func (b *Backend) Region() string { return b.opts.Region }

// region returns r, or the default region for "".
func (b *Backend) region(r string) string {
	if r == "" {
		return b.opts.Region
	}
	return r
}

// network returns the region's network, and false when it has none.
func (b *Backend) network(region string) (Network, bool) {
	n, ok := b.networks[region]
	return n, ok
}

// ec2Client returns the region's EC2 client, making it on first use.
func (b *Backend) ec2Client(region string) *ec2.Client {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.clients[region]; ok {
		return c
	}
	c := ec2.NewFromConfig(b.cfg, func(o *ec2.Options) {
		o.Region = region
		if b.opts.EndpointURL != "" {
			o.BaseEndpoint = sdkaws.String(b.opts.EndpointURL)
		}
		if b.opts.Metrics != nil {
			o.APIOptions = append(o.APIOptions, b.opts.Metrics.apiOption(region))
		}
	})
	b.clients[region] = c
	return c
}
