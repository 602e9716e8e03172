package simulated

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// newEndpointID returns an ID shaped like AWS's: "vpce-" and 17 hex digits.
func newEndpointID() string {
	return fmt.Sprintf("vpce-0%016x", rand.Uint64())
}

const suffixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// endpointDNS is the regional DNS name AWS gives an interface endpoint:
// vpce-<id>-<8 chars>.<service id>.<region>.vpce.amazonaws.com, where the
// service id is the last label of the service name (vpce-svc-… for an
// endpoint service).
func endpointDNS(id, service, region string) string {
	svc := service
	if i := strings.LastIndexByte(service, '.'); i >= 0 {
		svc = service[i+1:]
	}
	var suffix [8]byte
	for i := range suffix {
		suffix[i] = suffixAlphabet[rand.IntN(len(suffixAlphabet))]
	}
	return fmt.Sprintf("%s-%s.%s.%s.vpce.amazonaws.com", id, suffix[:], strings.ToLower(svc), region)
}

// normalizeName lowercases a DNS name and drops a trailing dot.
func normalizeName(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}
