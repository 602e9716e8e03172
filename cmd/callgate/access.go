package main

import (
	"fmt"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/config"
)

// proxyClients compiles the config's clients and proxy_auth for the proxy
// snapshot; nil when the config lists no clients (everyone may use every
// named credential).
func proxyClients(cfg *config.Config) (*access.Clients, error) {
	if len(cfg.Clients) == 0 {
		return nil, nil
	}
	list := make([]access.Client, len(cfg.Clients))
	for i, c := range cfg.Clients {
		list[i] = access.Client{
			Name: c.Name, Username: c.Username, Password: c.Password, Token: c.Token,
			CIDRs: c.CIDRs, Permit: c.Permit,
		}
		if c.PasswordHash != "" {
			list[i].PasswordHash = []byte(c.PasswordHash)
		}
	}
	pa := cfg.ProxyAuth
	cs, err := access.NewClients(list, access.ProxyAuth{
		Required: pa.Required, Realm: pa.Realm, BcryptWait: pa.BcryptWait,
		Throttle: access.AuthThrottle{
			PerSource: failureRate(pa.Throttle.PerSource),
			PerUser:   failureRate(pa.Throttle.PerUser),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	return cs, nil
}

// failureRate converts a failure bucket; access.Rate is the same token
// bucket as client_rate's.
func failureRate(r config.FailureRate) access.Rate {
	return access.Rate{PerSecond: r.FailuresPerSecond, Burst: r.Burst}
}

// proxyLimits converts the config's concurrency and rate limits; the
// header size limit is an Options field (it needs a restart).
func proxyLimits(cfg *config.Config) access.Limits {
	l := cfg.Limits
	return access.Limits{
		MaxTunnels:               l.MaxTunnels,
		MaxRequests:              l.MaxRequests,
		MaxTunnelsPerCredential:  l.PerCredential.MaxTunnels,
		MaxRequestsPerCredential: l.PerCredential.MaxRequests,
		ClientRate:               access.Rate{PerSecond: l.ClientRate.RequestsPerSecond, Burst: l.ClientRate.Burst},
	}
}
