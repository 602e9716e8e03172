package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// checkFollow: for every key the full index records, following its path
// in the tree finds the same node, so seqLen answers the same before and
// after the index is built.
func checkFollow(t testing.TB, data []byte) {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return
	}
	lazy, full := newIndex(root.Content[0]), newIndex(root.Content[0])
	full.build()
	for _, e := range full.entries {
		if strings.Count(e.path, ".")+strings.Count(e.path, "[") > maxIndexDepth-2 || strings.Contains(e.path, `"`) {
			continue // walk counts separators inside quoted keys; seqLen never asks for such paths
		}
		if full.byPath[e.path] != e {
			continue // a duplicate key: the first one is recorded
		}
		if got := lazy.follow(e.path); got != e.node {
			t.Fatalf("follow(%q) found %v, the index %v (line %d)", e.path, got, e.node, e.keyLine)
		}
	}
	if lazy.built {
		t.Fatal("follow built the index")
	}
}

func TestIndexFollowMatchesWalk(t *testing.T) {
	for _, b := range fixtures(t) {
		checkFollow(t, b)
	}
	checkFollow(t, configWithCredentials(50))
}

// fixtures is every testdata/*.yaml file by name.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}
