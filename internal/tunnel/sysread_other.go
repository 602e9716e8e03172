//go:build unix && !linux

package tunnel

import "syscall"

func sysRead(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }
