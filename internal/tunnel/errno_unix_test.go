//go:build unix

package tunnel

import "syscall"

// errReset is how a closed-by-reset peer may show to a reader.
var errReset = syscall.ECONNRESET
