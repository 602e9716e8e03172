package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// knownFieldsErrors is what decoding data again with yaml.v3's KnownFields
// reports as unknown keys: the behaviour unknownFields replaces.
// ok is false when the decode failed for another reason than type errors
// (then Parse never walks the tree).
func knownFieldsErrors(t testing.TB, data []byte) (msgs []string, ok bool) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	raw := defaultRaw()
	if err := dec.Decode(&raw); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, false
		}
		for _, m := range te.Errors {
			if reUnknownField.MatchString(m) {
				msgs = append(msgs, m)
			}
		}
	}
	return msgs, true
}

// keyAndLine drops the type name, which differs for the top level (the
// decoder sees rawConfig's method-free twin).
func keyAndLine(msgs []string) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m[:strings.LastIndex(m, " in type ")])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestUnknownFieldsMatchesKnownFields: the tree walk finds exactly the
// unknown keys yaml.v3's KnownFields decoding finds, on every fixture and
// on aliases, merges, maps and lists.
func TestUnknownFieldsMatchesKnownFields(t *testing.T) {
	docs := map[string]string{
		"nested":            "listen: {proxy: ':1', admn: ':2'}\nnamed_credentials:\n  - {name: A, url: 'http://a', outbound_network_connection: c, colour: red}\n",
		"merge":             "x: &d {interval: 30s, bogus: 1}\nsync:\n  <<: *d\n  jitter: 0.1\n",
		"merge_list":        "a: &a {interval: 30s}\nb: &b {nope: 2}\nsync:\n  <<: [*a, *b]\n",
		"alias_value":       "base: &t {mode: simulated, wat: 3}\naws: *t\n",
		"map_values":        "resolve: {a.example: 127.0.0.1}\nnamed_credentials:\n  - name: A\n    url: http://a\n    outbound_network_connection: c\n    auth: {bearer: {token_file: /x, extra: y}}\n",
		"list_of_lists":     "clients:\n  - name: c\n    permit: [A]\n    cidrs: [10.0.0.0/8]\n    typo: 1\n",
		"merge_parent_wins": "x: &d {bogus: 1, interval: 30s}\nsync:\n  bogus: 2\n  <<: *d\n",
		"merge_twice":       "a: &a {nope: 1}\nb: &b {nope: 2, also: 3}\nsync:\n  <<: *a\n  <<: *b\n",
		"quoted_merge":      "sync:\n  '<<': {interval: 30s}\n",
		"odd_keys":          "&0 : 1\n~: 2\n5: 3\n!!binary bm9wZQ==: 4\n2001-01-01: 5\n? [a]\n: 6\n",
		"alias_key":         "k: &k warmup\n*k : 5s\nsync: {&j nope: 1, *j : 2}\n",
		"deep_unknown":      "tls: {acme: {email: a@b, domains: [x], storage: /tmp, dns: 1}}\n",
	}
	for f, b := range fixtures(t) {
		docs[f] = string(b)
	}
	for name, doc := range docs {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &root); err != nil || len(root.Content) != 1 {
			continue // syntax errors never reach the walk
		}
		msgs, ok := knownFieldsErrors(t, []byte(doc))
		if !ok {
			continue
		}
		want := keyAndLine(msgs)
		got := keyAndLine(unknownFields(root.Content[0], reflect.TypeOf(rawConfig{})))
		if !slices.Equal(got, want) {
			t.Errorf("%s: walk found %q, KnownFields %q", name, got, want)
		}
	}
}

// checkFollow: for every key the full index records, following its path
// in the tree finds the same node, so seqLen answers the same before and
// after the index is built.
func checkFollow(t testing.TB, data []byte) {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return
	}
	lazy, full := newIndex(&root), newIndex(&root)
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
