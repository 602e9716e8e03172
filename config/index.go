package config

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// entry is one key (or list item) of the file, located in the YAML tree.
type entry struct {
	path    string     // e.g. named_credentials[1].url
	key     string     // the mapping key as written; "" for a list item
	keyLine int        // line of the key, or of the item's "-"
	node    *yaml.Node // the value
	goType  string     // the raw Go type it decodes into; "" for an unknown key
	known   []string   // for an unknown key: the keys allowed beside it
}

// index maps key paths to lines, so decode errors (which yaml.v3 reports
// by line only) and validation errors (which know only the path) can both
// say "FILE:LINE: key.path". It is built by walking the node tree beside
// the raw Go types, the same way the decoder walks them.
//
// The maps are built on first use: a file without errors needs only list
// lengths, which seqLen finds by following the path in the tree, so a
// large valid file never pays for an entry per key.
type index struct {
	root    *yaml.Node // the document's top-level mapping, or nil
	built   bool
	entries []*entry
	byPath  map[string]*entry
	// byLine holds each entry under its key line and under the line of its
	// value (an alias's target), where yaml.v3 reports decode errors.
	byLine map[int][]*entry
}

// newIndex indexes the document's top-level mapping (nil: an empty index).
func newIndex(top *yaml.Node) *index { return &index{root: top} }

// build walks the tree once, on the first question that needs every key.
func (ix *index) build() {
	if ix.built {
		return
	}
	ix.built = true
	ix.byPath, ix.byLine = make(map[string]*entry), make(map[int][]*entry)
	if ix.root != nil {
		ix.walk(ix.root, reflect.TypeOf(rawConfig{}), "")
	}
}

// entryAt is the entry for path, or nil.
func (ix *index) entryAt(path string) *entry {
	ix.build()
	return ix.byPath[path]
}

// maxIndexDepth bounds the walk; the raw types nest far less deeply, and
// anything deeper is an unknown key that the walk does not enter.
const maxIndexDepth = 16

func (ix *index) add(e *entry) {
	ix.entries = append(ix.entries, e)
	ix.byLine[e.keyLine] = append(ix.byLine[e.keyLine], e)
	if l := target(e.node).Line; l != e.keyLine {
		ix.byLine[l] = append(ix.byLine[l], e)
	}
	if _, dup := ix.byPath[e.path]; !dup { // a duplicate key keeps its first line
		ix.byPath[e.path] = e
	}
}

func (ix *index) walk(n *yaml.Node, t reflect.Type, path string) {
	if strings.Count(path, ".")+strings.Count(path, "[") > maxIndexDepth {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && t != durationType && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue // a merge key; its fields are reported where they were written
			}
			p := joinKey(path, k.Value)
			e := &entry{path: p, key: k.Value, keyLine: k.Line, node: v}
			ft, ok := fields[k.Value]
			if !ok {
				e.known = sortedKeys(fields)
				ix.add(e)
				continue
			}
			e.goType = typeName(ft)
			ix.add(e)
			ix.walk(v, ft, p)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path + "[" + strconv.Quote(k.Value) + "]"
			ix.add(&entry{path: p, key: k.Value, keyLine: k.Line, node: v, goType: typeName(t.Elem())})
			ix.walk(v, t.Elem(), p)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, v := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			ix.add(&entry{path: p, keyLine: v.Line, node: v, goType: typeName(t.Elem())})
			ix.walk(v, t.Elem(), p)
		}
	}
}

// derefType is the type yaml.v3 names in its errors: pointers are
// allocated and followed before decoding.
func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// line returns the line of path, or of its nearest ancestor in the file
// (a missing required key is reported where its parent is), or 0.
func (ix *index) line(path string) int {
	ix.build()
	for p := path; p != ""; p = parentPath(p) {
		if e := ix.byPath[p]; e != nil {
			return e.keyLine
		}
	}
	return 0
}

// seqLen is the number of items the file lists at path, or -1.
func (ix *index) seqLen(path string) int {
	var n *yaml.Node
	if ix.built {
		if e := ix.byPath[path]; e != nil {
			n = e.node
		}
	} else {
		n = ix.follow(path)
	}
	if n == nil {
		return -1
	}
	if n = target(n); n.Kind == yaml.SequenceNode {
		return len(n.Content)
	}
	return -1
}

// follow finds the value node of path the way walk records it: the same
// descent (known struct keys, map values, list items, no alias followed on
// the way) and, among duplicate keys, the first in document order that
// has the path, or nil.
func (ix *index) follow(path string) *yaml.Node {
	if ix.root == nil || path == "" {
		return nil
	}
	return followIn(ix.root, derefType(reflect.TypeOf(rawConfig{})), path, 0)
}

func followIn(n *yaml.Node, t reflect.Type, rest string, depth int) *yaml.Node {
	if depth > maxIndexDepth {
		return nil
	}
	var key string
	index, isIndex := -1, false
	switch {
	case strings.HasPrefix(rest, `["`):
		q, err := strconv.QuotedPrefix(rest[1:])
		if err != nil || !strings.HasPrefix(rest[1+len(q):], "]") {
			return nil
		}
		key, _ = strconv.Unquote(q)
		rest = rest[1+len(q)+1:]
	case rest[0] == '[':
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil
		}
		i, err := strconv.Atoi(rest[1:end])
		if err != nil {
			return nil
		}
		index, isIndex, rest = i, true, rest[end+1:]
	default:
		rest = strings.TrimPrefix(rest, ".")
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		key, rest = rest[:end], rest[end:]
	}
	descend := func(v *yaml.Node, vt reflect.Type) *yaml.Node {
		if rest == "" {
			return v
		}
		return followIn(v, derefType(vt), rest, depth+1)
	}
	switch {
	case isIndex && t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		if index >= len(n.Content) {
			return nil
		}
		return descend(n.Content[index], t.Elem())
	case !isIndex && t.Kind() == reflect.Struct && t != durationType && n.Kind == yaml.MappingNode:
		ft, known := yamlFields(t)[key]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value != key || k.Value == "<<" {
				continue
			}
			v := n.Content[i+1]
			if !known {
				if rest == "" {
					return v
				}
				return nil // walk records an unknown key but not beneath it
			}
			if got := descend(v, ft); got != nil {
				return got
			}
		}
	case !isIndex && t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value != key {
				continue
			}
			if got := descend(n.Content[i+1], t.Elem()); got != nil {
				return got
			}
		}
	}
	return nil
}

// joinKey appends a struct key to path. A key that is not a plain word
// (only an unknown key can be) is quoted, so a path stays on one line.
func joinKey(path, key string) string {
	if !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parentPath strips the last segment: "a.b[2]" → "a.b", `m["x.y"]` → "m".
// Quoted map keys may hold dots and brackets, so it scans for segment
// starts outside quotes.
func parentPath(p string) string {
	last, inQuote := 0, false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == '.' || c == '['):
			last = i
		}
	}
	return p[:last]
}

// underPath reports whether p is base or lies beneath it.
func underPath(p, base string) bool {
	if !strings.HasPrefix(p, base) {
		return false
	}
	rest := p[len(base):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

// fieldsCache holds yamlFields per struct type: the raw types are few and
// a large file walks the same ones many times.
var fieldsCache sync.Map // reflect.Type → map[string]reflect.Type

// yamlFields maps a struct's YAML keys to field types. The map is shared:
// callers must not change it.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldsCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			m[name] = f.Type
		}
	}
	fieldsCache.Store(t, m)
	return m
}

// typeNames caches the names of the raw Go types, as yaml.v3 writes them
// in its errors.
var typeNames sync.Map // reflect.Type → string

func typeName(t reflect.Type) string {
	t = derefType(t)
	if s, ok := typeNames.Load(t); ok {
		return s.(string)
	}
	s := t.String()
	typeNames.Store(t, s)
	return s
}

// yamlName is the key a struct field decodes from, or "" if none.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("yaml")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = strings.ToLower(f.Name) // yaml.v3's rule; every raw field is tagged anyway
	}
	return name
}

// find returns the first entry on line that matches.
func (ix *index) find(line int, match func(*entry) bool) *entry {
	ix.build()
	for _, e := range ix.byLine[line] {
		if match(e) {
			return e
		}
	}
	return nil
}
