// Package depcheck is the import-direction tests' one look at the import
// graph: what a package depends on, as `go list -deps` says.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// Deps lists pkg and every package it depends on, directly or not; the
// test is skipped where the go command cannot run.
func Deps(t testing.TB, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	return strings.Fields(string(out))
}

// Forbid fails t for every package pkg depends on under one of the banned
// path prefixes.
func Forbid(t testing.TB, pkg string, banned ...string) {
	t.Helper()
	for _, dep := range Deps(t, pkg) {
		for _, b := range banned {
			if strings.HasPrefix(dep, b) {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
