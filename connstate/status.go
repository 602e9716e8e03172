// Package connstate owns outbound connections: their status machine, the
// warm-up, the actions matrix and the sync loop that drives them through a
// Backend. The hot path reads it through Admit, one atomic load per call.
//
// The Manager keeps no state of its own that must survive a restart: each
// status is derived from what the Backend reports, and the moment a
// connection became Ready lives in the endpoint's ReadySinceTag, so a
// restarted process or a second replica continues the same warm-up instead
// of starting a fresh one. Adopted endpoints (vpc_endpoint_id) are synced
// but never created or deleted: provision starts syncing them, teardown
// forgets them.
package connstate

import (
	"fmt"
	"strings"
)

// Status is an outbound connection's programmatically controlled status
// (docs/operations.md, Connection statuses). The zero value is Unprovisioned.
type Status uint8

const (
	Unprovisioned Status = iota
	Allocating
	PendingAcceptance
	PendingActivation
	Ready
	RejectedRemotely
	DeletedRemotely
	TeardownInProgress
	numStatuses
)

var statusNames = [numStatuses]string{
	"Unprovisioned", "Allocating", "PendingAcceptance", "PendingActivation",
	"Ready", "RejectedRemotely", "DeletedRemotely", "TeardownInProgress",
}

// Statuses lists every status in a stable order (for metrics and docs).
func Statuses() []Status {
	out := make([]Status, numStatuses)
	for i := range out {
		out[i] = Status(i)
	}
	return out
}

func (s Status) String() string {
	if s < numStatuses {
		return statusNames[s]
	}
	return "Unknown"
}

// ParseStatus is the inverse of String.
func ParseStatus(s string) (Status, bool) {
	for i, n := range statusNames {
		if n == s {
			return Status(i), true
		}
	}
	return 0, false
}

// Transitional reports whether the status is expected to change by itself
// soon, so the sync loop polls it faster.
func (s Status) Transitional() bool {
	switch s {
	case Allocating, PendingAcceptance, PendingActivation, TeardownInProgress:
		return true
	}
	return false
}

// Provisioned reports whether an endpoint exists or is being made or removed.
func (s Status) Provisioned() bool { return s != Unprovisioned }

// MapAWSState maps an EC2 VpcEndpoint State to a status. EC2 sends states in
// camelCase ("pendingAcceptance") while aws-sdk-go-v2's types.State constants
// are PascalCase (aws-sdk-go-v2 #2864), so the comparison ignores case.
// tornDown says whether callgate itself asked for deletion: a "deleted"
// endpoint then means the teardown is done (Unprovisioned), otherwise it is
// DeletedRemotely. AWS keeps listing deleted endpoints for a while, so
// waiting for one to disappear would hold a finished teardown open. ok is
// false for a state callgate does not know.
func MapAWSState(state string, tornDown bool) (s Status, ok bool) {
	switch strings.ToLower(state) {
	case "pendingacceptance":
		return PendingAcceptance, true
	case "pending":
		return PendingActivation, true
	case "available":
		return Ready, true
	case "rejected", "failed", "expired":
		return RejectedRemotely, true
	case "deleting":
		return TeardownInProgress, true
	case "deleted":
		if tornDown {
			return Unprovisioned, true
		}
		return DeletedRemotely, true
	}
	return 0, false
}

// MarshalText writes the status name, so JSON and YAML show "Ready" rather
// than a number.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is the inverse of MarshalText (the CLI decodes the admin
// API's JSON with it).
func (s *Status) UnmarshalText(b []byte) error {
	v, ok := ParseStatus(string(b))
	if !ok {
		return fmt.Errorf("unknown connection status %q", b)
	}
	*s = v
	return nil
}
