package config

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// docFile is the config reference that must list exactly the keys the
// YAML structs accept.
const docFile = "../docs/config.md"

// yamlKeys lists every key the file may hold as a dotted path, with "[]"
// after a list of mappings: "named_credentials[].auth.basic.username".
// Maps and lists of scalars are leaves; the fields of a map of mappings
// follow the map's own key: "aws.regions.vpc_id".
func yamlKeys() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			name := yamlName(t.Field(i))
			if name == "" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			out = append(out, key)
			ft := derefType(t.Field(i).Type)
			switch {
			case ft.Kind() == reflect.Struct && ft != durationType:
				walk(ft, key)
			case ft.Kind() == reflect.Slice && derefType(ft.Elem()).Kind() == reflect.Struct:
				walk(derefType(ft.Elem()), key+"[]")
			case ft.Kind() == reflect.Map && derefType(ft.Elem()).Kind() == reflect.Struct:
				walk(derefType(ft.Elem()), key) // as genericPath drops map keys
			}
		}
	}
	walk(reflect.TypeOf(rawConfig{}), "")
	sort.Strings(out)
	return out
}

var (
	reIndex  = regexp.MustCompile(`\[[0-9]+\]`)
	reMapKey = regexp.MustCompile(`\["(?:[^"\\]|\\.)*"\]`)
)

// genericPath turns an index path into a yamlKeys path:
// named_credentials[3].url → named_credentials[].url, resolve["x"] → resolve.
func genericPath(p string) string {
	return reIndex.ReplaceAllString(reMapKey.ReplaceAllString(p, ""), "[]")
}

// reDocRow matches a reference table row whose first cell is a key.
var reDocRow = regexp.MustCompile("^\\|\\s*`([a-z0-9_.\\[\\]]+)`\\s*\\|")

func TestDocListsEveryKey(t *testing.T) {
	data, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	documented := make(map[string]int)
	for i, line := range strings.Split(string(data), "\n") {
		if m := reDocRow.FindStringSubmatch(line); m != nil {
			if prev, dup := documented[m[1]]; dup {
				t.Errorf("%s:%d: key %s is documented twice (also line %d)", docFile, i+1, m[1], prev)
			}
			documented[m[1]] = i + 1
		}
	}
	keys := make(map[string]bool)
	for _, k := range yamlKeys() {
		keys[k] = true
		if documented[k] == 0 {
			t.Errorf("key %s is not documented in %s (add a table row starting with | `%s` |)", k, docFile, k)
		}
	}
	for k, line := range documented {
		if !keys[k] {
			t.Errorf("%s:%d documents key %s, which the config does not have", docFile, line, k)
		}
	}
	if len(keys) < 80 {
		t.Errorf("only %d keys found: the struct walk is broken", len(keys))
	}
}
