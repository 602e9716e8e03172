package config

import (
	"testing"
	"time"
)

// TestProxyAuthThrottleKeys: a key the file sets overrides its default
// alone, and a rate of 0 turns that bucket off whatever its burst.
func TestProxyAuthThrottleKeys(t *testing.T) {
	base := "named_credentials: []\n"
	def := DefaultAuthThrottle
	cases := []struct {
		yaml string
		want AuthThrottle
		wait time.Duration
	}{
		{"", def, time.Second},
		{"proxy_auth: {throttle: {per_source: {burst: 3}}}\n",
			AuthThrottle{PerSource: FailureRate{FailuresPerSecond: 1, Burst: 3}, PerUser: def.PerUser}, time.Second},
		{"proxy_auth: {throttle: {per_user: {failures_per_second: 0.25}}, bcrypt_wait: 200ms}\n",
			AuthThrottle{PerSource: def.PerSource, PerUser: FailureRate{FailuresPerSecond: 0.25, Burst: 30}}, 200 * time.Millisecond},
		{"proxy_auth: {throttle: {per_source: {failures_per_second: 0}, per_user: {failures_per_second: 0, burst: 7}}}\n",
			AuthThrottle{}, time.Second},
	}
	for _, tc := range cases {
		cfg, err := Parse("proxyauth.yaml", []byte(base+tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if cfg.ProxyAuth.Throttle != tc.want || cfg.ProxyAuth.BcryptWait != tc.wait {
			t.Errorf("%q: throttle %+v, bcrypt_wait %s; want %+v, %s", tc.yaml, cfg.ProxyAuth.Throttle, cfg.ProxyAuth.BcryptWait, tc.want, tc.wait)
		}
	}
}
