package main

import (
	"os"
	"testing"
)

// TestMain removes the callgate binary that subprocess tests share
// (e2eBinary builds it once per test process).
func TestMain(m *testing.M) {
	code := m.Run()
	e2eBin.mu.Lock()
	if e2eBin.dir != "" {
		_ = os.RemoveAll(e2eBin.dir)
	}
	e2eBin.mu.Unlock()
	os.Exit(code)
}
