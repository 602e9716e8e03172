package connstate

import (
	"time"

	"go.uber.org/zap"
)

// Options configures a Manager. Every zero value has a working default.
type Options struct {
	// Warmup is how long a connection that became Ready still refuses
	// traffic. Zero turns the warm-up off (the config's default is 5m).
	Warmup time.Duration
	// SyncInterval is the steady-state polling period (±10% jitter);
	// zero means 30s.
	SyncInterval time.Duration
	// FastInterval is the polling period while any connection is in a
	// transitional status; zero means 2s. It never exceeds SyncInterval.
	FastInterval time.Duration
	// BackoffBase is the first delay after a failed Describe, Create or
	// Delete, doubled per consecutive failure (four times longer when AWS
	// throttles); zero means 1s.
	BackoffBase time.Duration
	// BackoffMax caps the backoff; zero means 2m.
	BackoffMax time.Duration
	// CallTimeout bounds each Backend call; zero means 30s.
	CallTimeout time.Duration
	// Now is the clock for ready-since stamps and warm-up arithmetic; nil
	// means time.Now. Timers (polling, backoff) always use real time.
	Now func() time.Time
	// Logger receives status transitions and backend errors; nil logs
	// nothing.
	Logger *zap.Logger
	// Metrics receives the connection and sync metrics; nil records none.
	Metrics *Metrics
}

const (
	defaultSyncInterval = 30 * time.Second
	defaultFastInterval = 2 * time.Second
	defaultBackoffBase  = time.Second
	defaultBackoffMax   = 2 * time.Minute
	defaultCallTimeout  = 30 * time.Second
	// throttleFactor stretches the backoff when AWS says RequestLimitExceeded:
	// retrying at the normal pace would only extend the throttling.
	throttleFactor = 4
	// intervalJitter spreads replicas' polls so a fleet does not call
	// DescribeVpcEndpoints in lockstep.
	intervalJitter = 0.10
)

// withDefaults fills every zero field.
func (o Options) withDefaults() Options {
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = defaultSyncInterval
	}
	if o.FastInterval <= 0 {
		o.FastInterval = defaultFastInterval
	}
	if o.FastInterval > o.SyncInterval {
		o.FastInterval = o.SyncInterval
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = defaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = defaultBackoffMax
	}
	if o.BackoffBase > o.BackoffMax {
		o.BackoffBase = o.BackoffMax
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = defaultCallTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}
