package connstate

import (
	"context"
	"time"
)

// Spec is what a Backend needs to know about one outbound connection.
type Spec struct {
	Name        string // connection name; tagged on the endpoint
	ServiceName string // VPC endpoint service name
	Region      string
	// AdoptedID is a vpc_endpoint_id from the config: the backend syncs it
	// but never creates or deletes it. Empty for managed connections.
	AdoptedID string
}

// Observation is a Backend's view of one endpoint.
type Observation struct {
	EndpointID string
	// State is AWS's State string as sent on the wire (camelCase, e.g.
	// "pendingAcceptance"); map it with MapAWSState.
	State string
	// DNSName is the endpoint's regional DNS name (the first DnsEntries
	// entry that has no AZ in it), dialed by the proxy.
	DNSName string
	// ReadySince is the shared moment the endpoint was first seen available
	// in its current Ready episode, read from the ready-since tag; zero if
	// the tag is absent.
	ReadySince time.Time
}

// ReadySinceTag is the VPC endpoint tag that records, for every replica and
// across restarts, when the connection became Ready (RFC 3339, UTC).
const ReadySinceTag = "callgate:ready-since"

// ConnectionTag and ManagedByTag mark endpoints that callgate created.
const (
	ConnectionTag  = "callgate:connection"
	ManagedByTag   = "callgate:managed-by"
	ManagedByValue = "callgate"
)

// Backend is the only way connstate talks to AWS. Implementations live in
// connstate/aws (aws-sdk-go-v2) and connstate/simulated (in-process).
// Every method is safe for concurrent use.
type Backend interface {
	// Describe returns the current observation of every endpoint in specs
	// that exists, keyed by connection name; a missing key means "not
	// found". Implementations make one paged call per region, not one per
	// connection.
	Describe(ctx context.Context, specs []Spec) (map[string]Observation, error)
	// Create provisions an endpoint for spec. Before creating it adopts an
	// existing endpoint tagged for spec.Name in the same VPC and service, so
	// two replicas never create two endpoints.
	Create(ctx context.Context, spec Spec) (Observation, error)
	// Delete deletes the endpoint. Deleting one that is already gone is not
	// an error.
	Delete(ctx context.Context, spec Spec, endpointID string) error
	// SetReadySince records (or, with a zero time, clears) the ready-since
	// tag on the endpoint.
	SetReadySince(ctx context.Context, endpointID string, since time.Time) error
	// Whoami returns the principal ARN an endpoint service owner must allow
	// (the IAM role ARN rather than an assumed-role session ARN).
	Whoami(ctx context.Context) (string, error)
}
