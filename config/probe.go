package config

import "time"

// rawProbe is the probe: section (the background endpoint probe).
type rawProbe struct {
	Interval    time.Duration `yaml:"interval"`
	Concurrency int           `yaml:"concurrency"`
}

// Probe configures the background probe of each https named credential's
// endpoint (package probe). Both keys reload live.
type Probe struct {
	Interval    time.Duration // between two probes of one named credential, ± 10%
	Concurrency int           // probes in flight at once
}

// Defaults of probe:.
const (
	DefaultProbeInterval    = 5 * time.Minute
	DefaultProbeConcurrency = 4
	// MinProbeInterval keeps a typo like "5ms" from hammering a partner.
	MinProbeInterval = 100 * time.Millisecond
)

func defaultProbe() rawProbe {
	return rawProbe{Interval: DefaultProbeInterval, Concurrency: DefaultProbeConcurrency}
}

func (c *compiler) probe(r rawProbe) Probe {
	p := Probe{Interval: c.duration("probe.interval", r.Interval, MinProbeInterval), Concurrency: r.Concurrency}
	if r.Concurrency < 1 || r.Concurrency > 64 {
		c.errorf("probe.concurrency", ErrInvalid, "must be between 1 and 64, got %d", r.Concurrency)
	}
	return p
}
