package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExamples runs `callgate check-config` on every config in examples/
// from the repository root, as the README has people type it; checks that
// docs/config.md's complete example is examples/complete.yaml, word for
// word; and that every config file the README's commands name exists.
func TestExamples(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[filepath.Base(f)] = true
	}
	for _, want := range []string{"minimal.yaml", "complete.yaml"} {
		if !have[want] {
			t.Errorf("examples/%s is missing", want)
		}
	}
	bin := e2eBinary(t)
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		out, err := cliRunIn(t, root, bin, "check-config", rel)
		if err != nil || !strings.HasPrefix(out, rel+": OK (") {
			t.Errorf("callgate check-config %s: %v\n%s", rel, err, out)
		}
	}

	doc, err := os.ReadFile(filepath.Join(root, "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\n## A complete example\n.*?\n```yaml\n(.*?)```\n").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/config.md has no yaml block under ## A complete example")
	}
	complete, err := os.ReadFile(filepath.Join(root, "examples", "complete.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(m[1]) != string(complete) {
		t.Errorf("docs/config.md's complete example differs from examples/complete.yaml:\n--- docs ---\n%s\n--- examples ---\n%s", m[1], complete)
	}

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllSubmatch(readme, -1) {
		for _, name := range regexp.MustCompile(`(?:^|\s)([\w./-]+\.yaml)\b`).FindAllSubmatch(block[1], -1) {
			p := string(name[1])
			if strings.HasPrefix(p, "/") {
				continue // a path inside a container
			}
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("the README's commands name %s, which the repository does not have", p)
			}
		}
	}
}

// cliRunIn runs bin with args in dir and returns its combined output.
func cliRunIn(t *testing.T, dir, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = e2eCleanEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}
