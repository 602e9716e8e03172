package deploy_test

import (
	"path/filepath"
	"regexp"
	"testing"
)

// TestReadmeTestDuration: the README says how long `make test` takes both
// with warm Go caches and on a fresh machine, where downloading and
// compiling every dependency and building staticcheck take twice as long;
// a newcomer who sees only the warm figure thinks a cold run hangs.
func TestReadmeTestDuration(t *testing.T) {
	readme := readText(t, filepath.Join(repoRoot, "README.md"))
	para := regexp.MustCompile("(?s)`make test` takes about .*?\n\n").FindString(readme)
	if para == "" {
		t.Fatal("README.md has no paragraph saying how long `make test` takes")
	}
	for what, re := range map[string]string{
		"a warm figure": `about \d+ minutes once the Go caches are\s+warm`,
		"a cold figure": `(?s)first run on a fresh machine takes about [\d½]+ minutes`,
	} {
		if !regexp.MustCompile(re).MatchString(para) {
			t.Errorf("README.md's make test paragraph lacks %s:\n%s", what, para)
		}
	}
}
