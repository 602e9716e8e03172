package credauth

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestBlankSecretFileWarnsOncePerVersion: a secret file rewritten blank
// keeps the previous value and says so once for that version of the file,
// not once per fallback check (once a second while calls come) or per
// watcher event; another bad version is reported again, and a good one
// is taken.
func TestBlankSecretFileWarnsOncePerVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("first-secret\n")
	core, logs := observer.New(zapcore.InfoLevel)
	src, err := newSource(Secret{File: path}, zap.New(core), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := src.(*fileSource)
	warnings := func() int {
		return logs.FilterMessage("secret file re-read failed; keeping the previous value").Len()
	}

	write("   \n")
	for range 3 {
		f.checkStat()
		_ = f.reload() // what a watcher event does
	}
	if n := warnings(); n != 1 {
		t.Errorf("a blank file gave %d warnings over 3 checks and 3 events, want 1", n)
	}
	if got := f.value().Reveal(); got != "first-secret" {
		t.Errorf("value %q after a blank rewrite, want the previous one", got)
	}

	write("\t\n\n\n\n\n")
	f.checkStat()
	f.checkStat()
	if n := warnings(); n != 2 {
		t.Errorf("another blank version gave %d warnings in all, want 2", n)
	}

	write("second-secret\n")
	f.checkStat()
	if got := f.value().Reveal(); got != "second-secret" {
		t.Errorf("value %q after a good rewrite, want second-secret", got)
	}
	write("  ")
	f.checkStat()
	if n := warnings(); n != 3 {
		t.Errorf("a blank file after a good one gave %d warnings in all, want 3", n)
	}
}
