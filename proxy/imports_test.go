package proxy

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgate/callgate/internal/depcheck"
)

// TestProxyImportsStayOnTheDataPlane: the proxy never depends on the AWS
// SDK, the config package or the connstate backends (imports point
// one way; AWS lives behind the connstate backend interface).
func TestProxyImportsStayOnTheDataPlane(t *testing.T) {
	depcheck.Forbid(t, ".",
		"github.com/aws/",
		"github.com/callgate/callgate/config",
		"github.com/callgate/callgate/connstate/aws",
		"github.com/callgate/callgate/connstate/simulated",
		"github.com/callgate/callgate/credauth",
	)
}

// TestEngineBehindTheSeams: the wire engine package knows no policy (it
// imports nothing of callgate's but raw socket I/O), and of the data
// plane's own files only engine.go knows it exists: the pipeline sees
// net/http's types whichever engine wrote them.
func TestEngineBehindTheSeams(t *testing.T) {
	for _, dep := range depcheck.Deps(t, "./h1") {
		if strings.HasPrefix(dep, "github.com/callgate/callgate/") &&
			dep != "github.com/callgate/callgate/proxy/h1" && dep != "github.com/callgate/callgate/internal/rawio" {
			t.Errorf("proxy/h1 depends on %s", dep)
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "engine.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.Contains(imp.Path.Value, "/proxy/h1") || strings.Contains(imp.Path.Value, "/internal/rawio") {
				t.Errorf("%s imports %s: only engine.go may know the engine", name, imp.Path.Value)
			}
		}
	}
}
