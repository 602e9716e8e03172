//go:build !unix

package tunnel

import "errors"

// errReset never matches off unix; the tests that use it need loopback TCP
// resets, which behave as on unix elsewhere only approximately.
var errReset = errors.New("connection reset")

// processCPU is not measured off unix.
func processCPU() int64 { return 0 }
