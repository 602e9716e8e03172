package connstate

import "time"

// Admission is the gate's answer for one connection at one moment: may it
// carry traffic now, and if not, why. It is a small value; building one
// does not allocate.
type Admission struct {
	// Known is false when no outbound connection has the name.
	Known  bool
	Status Status
	// Endpoint is the endpoint's DNS name to dial; set whenever the
	// connection is Ready (warm or not).
	Endpoint string
	// WarmupLeft is how long a Ready connection still refuses traffic; 0
	// once warm.
	WarmupLeft time.Duration
	// Revoked is closed when this Ready episode ends (the connection leaves
	// Ready or is removed), so open tunnels can close. Nil when not Ready.
	Revoked <-chan struct{}
}

// Allowed reports whether traffic may flow now.
func (a Admission) Allowed() bool {
	return a.Known && a.Status == Ready && a.WarmupLeft <= 0 && a.Endpoint != ""
}

// WarmupLeft computes the remaining warm-up at now for a connection that
// became Ready at readySince; 0 once warm or when warmup is 0.
func WarmupLeft(readySince time.Time, warmup time.Duration, now time.Time) time.Duration {
	if warmup <= 0 || readySince.IsZero() {
		return 0
	}
	left := readySince.Add(warmup).Sub(now)
	if left < 0 {
		return 0
	}
	return left
}
