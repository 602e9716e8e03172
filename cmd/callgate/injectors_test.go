package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// TestReloadKeepsUnchangedInjectors: a reload that leaves a credential's
// auth block alone keeps its injector (an OAuth 2.0 token cache survives);
// a changed block gets a new one.
func TestReloadKeepsUnchangedInjectors(t *testing.T) {
	upstream := startUpstream(t).addr
	dir := t.TempDir()
	for _, f := range []string{"token-a", "token-b"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f+"-value\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	withAuth := func(description, tokenFile string) string {
		return strings.Replace(opsConfig(upstream, description, ""),
			"    outbound_network_connection: orders\n",
			"    outbound_network_connection: orders\n    auth:\n      bearer: {token_file: "+filepath.Join(dir, tokenFile)+"}\n", 1)
	}
	path := tempConfig(t, withAuth("first", "token-a"))
	s, _ := opsStart(t, path, zap.NewNop(), false)
	current := func() *injector {
		s.app.mu.Lock()
		defer s.app.mu.Unlock()
		return s.app.injectors["Orders"]
	}
	first := current()
	writeFile(t, path, withAuth("second", "token-a"))
	if err := s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if current() != first {
		t.Fatal("an unchanged auth block got a new injector")
	}
	writeFile(t, path, withAuth("third", "token-b"))
	if err := s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if current() == first {
		t.Fatal("a changed auth block kept the old injector")
	}
	if s.app.proxy.Snapshot().Routes.ByName("Orders").Auth != current().Injector {
		t.Fatal("the snapshot does not use the current injector")
	}
}
