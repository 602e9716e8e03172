package aws

import (
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
)

// observation turns an EC2 endpoint into connstate's view of it.
func (b *Backend) observation(ep types.VpcEndpoint, region string) connstate.Observation {
	id := sdkaws.ToString(ep.VpcEndpointId)
	obs := connstate.Observation{
		EndpointID: id,
		// The raw wire string (camelCase), not a types.State constant:
		// see the package comment.
		State:   string(ep.State),
		DNSName: regionalDNSName(id, ep.DnsEntries, region),
	}
	if v, ok := tagValue(ep.Tags, connstate.ReadySinceTag); ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			obs.ReadySince = t.UTC()
		} else {
			// A hand-edited tag must not stop the sync; the Manager
			// rewrites it when the endpoint is next seen Ready.
			b.log.Warn("ignoring unparsable ready-since tag",
				zap.String("endpoint", id), zap.String("value", v))
		}
	}
	if id != "" {
		b.regionOf.Store(id, region)
	}
	return obs
}

// regionalDNSName picks the endpoint's regional DNS name from DnsEntries.
// AWS lists a regional name (vpce-ID-xxxx.vpce-svc-….REGION.vpce.amazonaws.com),
// one zonal name per AZ (vpce-ID-xxxx-us-east-1a.vpce-svc-…) and, with
// private DNS, the service's own name. The regional one is the one whose
// first label starts with the endpoint ID and does not name an AZ (AZ names
// begin with the region name); failing that any name whose first label has
// no AZ, then the first name.
func regionalDNSName(endpointID string, entries []types.DnsEntry, region string) string {
	var first, noAZ string
	for _, e := range entries {
		name := sdkaws.ToString(e.DnsName)
		if name == "" {
			continue
		}
		if first == "" {
			first = name
		}
		label, _, _ := strings.Cut(name, ".")
		if region != "" && strings.Contains(label, region) {
			continue // zonal
		}
		if endpointID != "" && strings.HasPrefix(label, endpointID) {
			return name
		}
		if noAZ == "" {
			noAZ = name
		}
	}
	if noAZ != "" {
		return noAZ
	}
	return first
}

// tagValue returns the value of tag key.
func tagValue(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if sdkaws.ToString(t.Key) == key {
			return sdkaws.ToString(t.Value), true
		}
	}
	return "", false
}

// liveness ranks endpoint states for choosing among several endpoints
// tagged for one connection: one that exists or is coming up beats one on
// its way out, which beats one already deleted.
func liveness(state types.State) int {
	switch strings.ToLower(string(state)) {
	case "pendingacceptance", "pending", "available":
		return 2
	case "deleted":
		return 0
	}
	return 1 // deleting, rejected, failed, expired, or a state unknown to us
}

// isLive reports whether an endpoint in state may be adopted: it exists or
// is coming up. Deleting, deleted, rejected, failed and expired ones may not.
func isLive(state types.State) bool { return liveness(state) == 2 }

// better reports whether a should be reported for a connection rather than
// b. Live endpoints win; among live ones the oldest (then the lowest ID) is
// the canonical one every replica agrees on; among the others the newest
// tells the latest story.
func better(a, b types.VpcEndpoint) bool {
	la, lb := liveness(a.State), liveness(b.State)
	if la != lb {
		return la > lb
	}
	ta, tb := sdkaws.ToTime(a.CreationTimestamp), sdkaws.ToTime(b.CreationTimestamp)
	if !ta.Equal(tb) {
		if la == 2 {
			return older(ta, tb)
		}
		return older(tb, ta)
	}
	return sdkaws.ToString(a.VpcEndpointId) < sdkaws.ToString(b.VpcEndpointId)
}

// older reports whether a is before b, a missing (zero) time counting as
// the newest.
func older(a, b time.Time) bool {
	switch {
	case a.IsZero():
		return false
	case b.IsZero():
		return true
	}
	return a.Before(b)
}

// best returns the endpoint to report among eps, and false if eps is empty.
func best(eps []types.VpcEndpoint) (types.VpcEndpoint, bool) {
	if len(eps) == 0 {
		return types.VpcEndpoint{}, false
	}
	w := eps[0]
	for _, ep := range eps[1:] {
		if better(ep, w) {
			w = ep
		}
	}
	return w, true
}
