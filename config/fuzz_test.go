package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/callgate/callgate/routing"
)

// FuzzParse: the loader never panics, returns either a config or errors
// (never both), every error is a *Error naming the file, and a config it
// accepts is one routing accepts too. Seeds: testdata/fuzz/FuzzParse/ and
// every testdata/*.yaml fixture.
func FuzzParse(f *testing.F) {
	for _, data := range fixtures(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Under testdata/ so relative file references in the seeds resolve.
		const name = "testdata/fuzz.yaml"
		checkFollow(t, data)
		cfg, err := Parse(name, data)
		if err != nil {
			if cfg != nil {
				t.Fatal("Parse returned a config and an error")
			}
			list := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				list = j.Unwrap()
			}
			for _, e := range list {
				var ce *Error
				if !errors.As(e, &ce) || !strings.HasPrefix(e.Error(), "config "+name) {
					t.Fatalf("error %q (%T) is not a *Error naming the file", e, e)
				}
			}
			return
		}
		if cfg == nil || len(cfg.Hash) != 64 {
			t.Fatalf("config %+v without a hash", cfg)
		}
		if _, err := routing.Compile(cfg.RoutingCredentials()); err != nil {
			t.Fatalf("config accepted, routing refused: %v", err)
		}
		if _, err := routing.CompileOverrides(cfg.Resolve); err != nil {
			t.Fatalf("config accepted, resolve refused: %v", err)
		}
	})
}
