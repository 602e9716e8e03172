package main

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgate/callgate/config"
	"github.com/callgate/callgate/connstate"
	awsbackend "github.com/callgate/callgate/connstate/aws"
	"github.com/callgate/callgate/connstate/simulated"
)

// newBackend picks the control plane's AWS side from aws.mode.
func newBackend(ctx context.Context, cfg *config.Config, log *zap.Logger, reg prometheus.Registerer) (connstate.Backend, *simulated.Backend, error) {
	switch cfg.AWS.Mode {
	case "aws":
		b, err := awsbackend.New(ctx, awsbackend.Options{
			Region:           cfg.AWS.Region,
			EndpointURL:      cfg.AWS.EndpointURL,
			VpcID:            cfg.AWS.VpcID,
			SubnetIDs:        cfg.AWS.SubnetIDs,
			SecurityGroupIDs: cfg.AWS.SecurityGroupIDs,
			Networks:         awsNetworks(cfg.AWS.Regions),
			Logger:           log.Named("aws"),
			Metrics:          awsbackend.NewMetrics(reg),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("aws backend: %w", err)
		}
		return b, nil, nil
	case "", "simulated":
		s := cfg.AWS.Simulated
		b := simulated.New(simulated.Options{
			Acceptance: s.Acceptance,
			Delays: simulated.Delays{
				Allocating:        s.Delays.Allocating,
				PendingAcceptance: s.Delays.PendingAcceptance,
				Pending:           s.Delays.Pending,
				Deleting:          s.Delays.Deleting,
			},
			Services: s.Services,
			Region:   cfg.AWS.Region,
		})
		return newCountedBackend(b, awsbackend.NewMetrics(reg), cfg.AWS.Region), b, nil
	}
	return nil, nil, fmt.Errorf("aws.mode %q: want simulated or aws", cfg.AWS.Mode)
}

// awsNetworks converts aws.regions for the AWS backend.
func awsNetworks(regions map[string]config.Network) map[string]awsbackend.Network {
	if len(regions) == 0 {
		return nil
	}
	out := make(map[string]awsbackend.Network, len(regions))
	for r, n := range regions {
		out[r] = awsbackend.Network{VpcID: n.VpcID, SubnetIDs: n.SubnetIDs, SecurityGroupIDs: n.SecurityGroupIDs}
	}
	return out
}

// simulatedDialer sends a simulated endpoint's DNS name to the local
// address its service stands for; everything else dials as usual.
type simulatedDialer struct {
	sim  *simulated.Backend
	next *net.Dialer
}

func (d simulatedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err == nil {
		if target, ok := d.sim.ResolveAddr(host); ok {
			return d.next.DialContext(ctx, network, target)
		}
		// An endpoint name the simulation no longer knows (deleted before
		// the next sync noticed) must not leak out as a real DNS query.
		if strings.HasSuffix(strings.TrimSuffix(host, "."), simulatedDNSSuffix) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{
				Err: "no such simulated endpoint", Name: host, IsNotFound: true,
			}}
		}
	}
	return d.next.DialContext(ctx, network, address)
}

// simulatedDNSSuffix ends every endpoint DNS name, simulated or real.
const simulatedDNSSuffix = ".vpce.amazonaws.com"
