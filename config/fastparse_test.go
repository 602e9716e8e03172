package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// yamlTree is the tree Parse gets from yaml.v3: the first document, and
// ok false when yaml.v3 fails or finds a second document.
func yamlTree(data []byte) (root *yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return &doc, true
}

// sameTree describes the first difference between two trees in the
// fields callgate reads, or "".
func sameTree(got, want *yaml.Node, path string) string {
	switch {
	case got == nil || want == nil:
		if got != want {
			return fmt.Sprintf("%s: node %v, want %v", path, got, want)
		}
		return ""
	case got.Kind != want.Kind || got.Style != want.Style || got.Tag != want.Tag || got.Value != want.Value ||
		got.Anchor != want.Anchor || got.Line != want.Line || got.Column != want.Column ||
		(got.Alias == nil) != (want.Alias == nil) || len(got.Content) != len(want.Content):
		return fmt.Sprintf("%s: got {kind %d style %d tag %q value %q anchor %q line %d col %d alias %v len %d}, want {kind %d style %d tag %q value %q anchor %q line %d col %d alias %v len %d}",
			path, got.Kind, got.Style, got.Tag, got.Value, got.Anchor, got.Line, got.Column, got.Alias != nil, len(got.Content),
			want.Kind, want.Style, want.Tag, want.Value, want.Anchor, want.Line, want.Column, want.Alias != nil, len(want.Content))
	}
	for i := range got.Content {
		if d := sameTree(got.Content[i], want.Content[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// checkFastParse: when fastParse accepts data, yaml.v3 parses it without
// error into the same tree.
func checkFastParse(t testing.TB, data []byte) (accepted bool) {
	t.Helper()
	got := fastParse(data)
	if got == nil {
		return false
	}
	want, ok := yamlTree(data)
	if !ok {
		t.Fatalf("fastParse accepted what yaml.v3 refuses:\n%s", data)
	}
	if d := sameTree(got, want, ""); d != "" {
		t.Fatalf("fastParse differs from yaml.v3: %s\n%s", d, data)
	}
	return true
}

// fastParseDocs are shapes the fast path handles or must refuse.
var fastParseDocs = []string{
	"a: 1\n",
	"a: 1",
	"# c\n\n  # d\na: b # c\nb:   c   \n",
	"a:\n  b: c\n  d: [1, 2.5, true, null, ~, x]\ne: f\n",
	"a:\n- x\n- y\nb: z\n",
	"a:\n  - x\n  -   y\n",
	"l:\n  - name: a\n    url: \"https://x\"\n  -   name: b\n      v: 'it''s'\n  - {name: c, url: http://c:8080/p}\n",
	"l:\n  -\n    a: b\n  - c\n",
	"a: {b: {c: [d, {e: f}]}, g: []}\nh: {}\n",
	"a: b c  d\ne: 'x y'\nf: \"\"\ng: ''\n",
	"a: x#y\nb: 127.0.0.1:80\nc: ::1\nd: a:b\n",
	"a: -1\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  x\n", "a:\n", "a: b\n  c\n",
	"a: [b,\n c]\n", "---\na: 1\n", "a: 1\n...\n", "- a\n- b\n", "a: 'x\n", "a: \"x\\n\"\n",
	"a: b: c\n", "a: {b: c,}\n", "a: {b}\n", "a: [b: c]\n", "a: b\n b: c\n", "a:\tb\n", "\"a\": b\n",
	"a: 1\n  # c\nb: 2\n", "a:\n  b: 1\n # c\n  c: 2\n", "a: {b: c} # d\n", "a: {b: c}#d\n",
	"1: a\ntrue: b\nnull: c\n2001-01-01: d\n", "a: 0x1F\nb: 1e3\nc: .inf\nd: -.inf\ne: 0o17\nf: 1_000\n",
	"a: yes\nb: No\nc: on\nd: y\ne: Off\n",
	"a: [true, True, TRUE, tRUE, false, False, FALSE, fALSE, null, Null, NULL, nULL, ~, ~x, nu, t, f, o, n, y, Y]\n",
	"true: 1\nFalse: 2\nNULL: 3\n~: 4\nnan: 5\n", "a: b,c\nb: [c,d]\n", "a: x #c\n", "a: x:\n", "a: [x:]\n",
	"a: [a:b, 'c']\n", "a: {b: x:y}\n", "a: {b: 'c'}\n", "a: b'c\"d\n", "  a: 1\n  b: 2\n", "a: 1\n  \n",
}

func TestFastParseMatchesYAML(t *testing.T) {
	accepted := 0
	for _, doc := range fastParseDocs {
		if checkFastParse(t, []byte(doc)) {
			accepted++
		}
	}
	for _, b := range fixtures(t) {
		checkFastParse(t, b)
		// Every prefix and every line dropped: shapes near the fixtures'.
		lines := strings.SplitAfter(string(b), "\n")
		for i := range lines {
			checkFastParse(t, []byte(strings.Join(lines[:i], "")))
			checkFastParse(t, []byte(strings.Join(lines[:i], "")+strings.Join(lines[i+1:], "")))
		}
	}
	if !checkFastParse(t, configWithCredentials(100)) {
		t.Error("fastParse refused the benchmark's config")
	}
	if accepted < 15 {
		t.Errorf("fastParse accepted only %d of the sample documents", accepted)
	}
}

// TestPlainTag: the shortcut resolves as yaml.v3 does.
func TestPlainTag(t *testing.T) {
	words := []string{"", "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
		"yes", "no", "on", "off", "nan", ".nan", ".inf", "-.inf", "+.inf", "1", "-1", "0x1f", "1e3", "2001-01-01", "name", "outbound"}
	const letters = "tTrRuUeEfFaAlLsSnN~yo.1"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		words = append(words, prefix)
		if n == 0 {
			return
		}
		for i := 0; i < len(letters); i++ {
			gen(prefix+letters[i:i+1], n-1)
		}
	}
	gen("", 3)
	words = append(words, "true", "tru", "fals", "nul", "NULl")
	for _, w := range words {
		for _, v := range []string{w, w + "e", w + "se", w + "ll", w + "E"} {
			if got, want := plainTag(v), (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag(); got != want {
				t.Errorf("plainTag(%q) = %s, yaml.v3 %s", v, got, want)
			}
		}
	}
}

// checkDecodeRaw: on a tree from fastParse, decodeRaw gives what yaml.v3's
// Decode of the whole tree gives, value and error.
func checkDecodeRaw(t testing.TB, data []byte) (handled bool) {
	t.Helper()
	doc := fastParse(data)
	if doc == nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	got, gotErr := decodeRaw(doc, true)
	want := defaultRaw()
	wantErr := doc.Decode(&want)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("decodeRaw error %v, yaml.v3 %v\n%s", gotErr, wantErr, data)
	}
	if r, w := &got.Limits.ClientRate.RequestsPerSecond, &want.Limits.ClientRate.RequestsPerSecond; math.IsNaN(*r) && math.IsNaN(*w) {
		*r, *w = 0, 0 // the one float: NaN is never DeepEqual
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeRaw decoded\n%+v\nyaml.v3\n%+v\n%s", got, want, data)
	}
	return true
}

func TestDecodeRawMatchesYAML(t *testing.T) {
	const head = "listen: {proxy: ':1'}\nnamed_credentials:\n"
	docs := []string{
		head + "  - {name: A, url: 'http://a', outbound_network_connection: c}\n  - {name: B}\n  - {}\n",
		head + "  - {name: A, url: http://a, outbound_network_connection: c, colour: red}\n",
		head + "  - {name: A, name: B}\n",
		head + "  - {name: 12, url: true, outbound_network_connection: null}\n",
		head + "  - {name: [A]}\n  - {name: B}\n",
		head + "  - {name: A, tls: {ca_file: x}, auth: {bearer: {token_file: t}}}\n  - name: B\n    auth:\n      headers:\n        - {name: X, value: 'y'}\n",
		head + "  - {name: A, auth: {basic: [x]}}\n",
		head + "  - {name: A, auth: {headers: [{name: X, value: 1}, {name: Y, value: ~}]}}\n",
		head + "  - x\n  - {name: B}\n",
		head + "  - [a]\n",
		"named_credentials: {a: b}\n",
		"named_credentials: x\nwarmup: 1m\n",
		"named_credentials: [{name: A}]\nnamed_credentials: [{name: B}]\n",
		"named_credentials: [{name: A}]\nwarmup: yes\nlimits: {max_tunnels: x}\n",
		"warmup: 5\nnamed_credentials: [{name: A, url: b}]\nsync: [1]\n",
		"listen: {proxy: ':1'}\n",
		"0: 0\nnamed_credentials:\n  - {name: A}\n0: 1\n",
		"warmup: 1s\nnamed_credentials: [{name: A}]\nwarmup: 2s\n",
	}
	handled := 0
	for _, d := range docs {
		if checkDecodeRaw(t, []byte(d)) {
			handled++
		}
	}
	for _, b := range fixtures(t) {
		checkDecodeRaw(t, b)
	}
	checkDecodeRaw(t, configWithCredentials(100))
	if handled != len(docs) {
		t.Errorf("fastParse took %d of %d documents", handled, len(docs))
	}
}
