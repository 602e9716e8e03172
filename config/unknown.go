package config

import (
	"fmt"
	"reflect"

	"gopkg.in/yaml.v3"
)

// unknownFields lists the keys of n that t has no field for, in the words
// yaml.v3's KnownFields decoding uses ("line N: field K not found in type
// T"), so translate reports them as it reports the decoder's own errors.
// It follows the decoder: through pointers, slices, map values, aliases
// and merge keys ("<<"), and not into a time.Duration.
//
// Call it only after the tree decoded (or failed with type errors only):
// the decoder's alias limits then bound the walk too; maxVisits is a
// second bound.
func unknownFields(n *yaml.Node, t reflect.Type) []string {
	var out []string
	visits := 0
	var walk func(n *yaml.Node, t reflect.Type, depth int)
	walk = func(n *yaml.Node, t reflect.Type, depth int) {
		visits++
		if depth > maxIndexDepth || n == nil || visits > maxVisits {
			return
		}
		for n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return
			}
			n = n.Alias
			depth++
			if depth > maxIndexDepth {
				return
			}
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t.Kind() == reflect.Struct && t != durationType && n.Kind == yaml.MappingNode:
			fields := yamlFields(t)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
					walkMerge(v, t, depth, walk)
					continue
				}
				ft, ok := fields[k.Value]
				if !ok {
					out = append(out, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, t))
					continue
				}
				walk(v, ft, depth+1)
			}
		case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], t.Elem(), depth+1)
			}
		case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
			for _, v := range n.Content {
				walk(v, t.Elem(), depth+1)
			}
		}
	}
	walk(n, t, 0)
	return out
}

// maxVisits bounds unknownFields on a file that aliases one mapping many
// times (each alias is walked, as the decoder decodes each).
const maxVisits = 10_000_000

// walkMerge walks what a merge key brings in: a mapping, an alias of one,
// or a sequence of those.
func walkMerge(v *yaml.Node, t reflect.Type, depth int, walk func(*yaml.Node, reflect.Type, int)) {
	if v.Kind == yaml.SequenceNode {
		for _, m := range v.Content {
			walk(m, t, depth+1)
		}
		return
	}
	walk(v, t, depth+1)
}
