package config

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// unknownFields lists the keys of n that t has no field for, in the words
// yaml.v3's KnownFields decoding uses ("line N: field K not found in type
// T"), so translate reports them as it reports the decoder's own errors.
// It follows the decoder (yaml.v3 decode.go, mappingStruct and merge):
// through pointers, slices, map values and aliases; keys resolved as the
// decoder resolves them (null keys skipped); merge keys ("<<", the last
// one of a mapping) walked after the mapping's own keys, skipping keys
// already set; never into a time.Duration.
//
// Call it only after the tree decoded (or failed with type errors only):
// the decoder's alias limits then bound the walk too; maxVisits is a
// second bound.
func unknownFields(n *yaml.Node, t reflect.Type) []string {
	w := &unknownWalk{}
	w.walk(n, t, 0, nil)
	return w.out
}

// maxVisits bounds unknownFields on a file that aliases one mapping many
// times (each alias is walked, as the decoder decodes each).
const maxVisits = 10_000_000

type unknownWalk struct {
	out    []string
	visits int
}

// walk visits n as the decoder decodes it into t. merged is the set of
// keys already set when n is a mapping merged into a struct, else nil.
func (w *unknownWalk) walk(n *yaml.Node, t reflect.Type, depth int, merged map[string]bool) {
	w.visits++
	if n == nil || depth > maxIndexDepth || w.visits > maxVisits {
		return
	}
	if n, depth = resolveAlias(n, depth); n == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.MappingNode && hasDuplicateKey(n) {
		return // the decoder reports the duplicate and skips the mapping
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType && n.Kind == yaml.MappingNode:
		w.structMapping(n, t, depth, merged)
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], t.Elem(), depth+1, nil)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, v := range n.Content {
			w.walk(v, t.Elem(), depth+1, nil)
		}
	}
}

func (w *unknownWalk) structMapping(n *yaml.Node, t reflect.Type, depth int, merged map[string]bool) {
	fields := yamlFields(t)
	var mergeNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			mergeNode = v
			continue
		}
		name, ok := fieldKey(k, depth)
		if !ok {
			continue
		}
		if merged != nil {
			if merged[name] {
				continue
			}
			merged[name] = true
		}
		if ft, ok := fields[name]; ok {
			w.walk(v, ft, depth+1, nil)
		} else {
			w.out = append(w.out, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, name, t))
		}
	}
	if mergeNode == nil {
		return
	}
	if merged == nil {
		// The parent's own keys win over merged ones.
		merged = make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if name, ok := stringKey(n.Content[i], depth); ok {
				merged[name] = true
			}
		}
	}
	if mergeNode.Kind == yaml.SequenceNode {
		for _, m := range mergeNode.Content {
			w.walk(m, t, depth+1, merged)
		}
		return
	}
	w.walk(mergeNode, t, depth+1, merged)
}

// hasDuplicateKey is yaml.v3's uniqueness test of a mapping: two keys of
// the same kind and value.
func hasDuplicateKey(n *yaml.Node) bool {
	if len(n.Content) <= 16 {
		// A few keys: compared pairwise, without a map to allocate.
		for i := 0; i < len(n.Content); i += 2 {
			for j := i + 2; j < len(n.Content); j += 2 {
				if n.Content[i].Kind == n.Content[j].Kind && n.Content[i].Value == n.Content[j].Value {
					return true
				}
			}
		}
		return false
	}
	type key struct {
		kind  yaml.Kind
		value string
	}
	seen := make(map[key]bool, len(n.Content)/2)
	for i := 0; i < len(n.Content); i += 2 {
		k := key{n.Content[i].Kind, n.Content[i].Value}
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

// isMergeKey is yaml.v3's isMerge.
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" &&
		(k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

func resolveAlias(n *yaml.Node, depth int) (*yaml.Node, int) {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || depth >= maxIndexDepth {
			return nil, depth
		}
		n, depth = n.Alias, depth+1
	}
	return n, depth
}

// fieldKey is a mapping key decoded into a string, as the decoder does
// for struct fields: any scalar but a null, a !!binary one decoded.
func fieldKey(k *yaml.Node, depth int) (string, bool) {
	if k, _ = resolveAlias(k, depth); k == nil || k.Kind != yaml.ScalarNode {
		return "", false // a collection as key is the decoder's type error
	}
	switch k.ShortTag() {
	case "!!null":
		return "", false
	case "!!binary":
		b, err := base64.StdEncoding.DecodeString(k.Value)
		if err != nil {
			return "", false // the decoder fails on it
		}
		return string(b), true
	}
	return k.Value, true
}

// stringKey is a mapping key decoded into an interface{} when it is a
// string there: the keys merge lets win over merged ones (an int or
// timestamp key is not a string and so blocks no field).
func stringKey(k *yaml.Node, depth int) (string, bool) {
	if k, _ = resolveAlias(k, depth); k == nil || k.Kind != yaml.ScalarNode {
		return "", false
	}
	switch tag := k.ShortTag(); {
	case tag == "!!str", tag == "!!merge":
		return k.Value, true
	case tag == "!!binary":
		b, err := base64.StdEncoding.DecodeString(k.Value)
		return string(b), err == nil
	case !strings.HasPrefix(tag, "!!"):
		return k.Value, true // a local tag keeps the string
	}
	return "", false
}
