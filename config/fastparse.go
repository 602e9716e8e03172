package config

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// fastParse builds the yaml.Node tree that yaml.v3 builds for data, when
// data keeps to the plain subset of YAML that config files are written in:
// ASCII without tabs or CR; block mappings whose keys are plain words
// (letters, digits, '_', '-', '.'); block sequences, with compact mappings
// in items ("- name: x"); one-line flow mappings and sequences; one-line
// plain, single-quoted and double-quoted (without escapes) scalars; blank
// lines and comments. It returns nil for anything else (anchors, aliases,
// tags, merge keys, block scalars, multi-line scalars or flow collections,
// empty values, documents markers, errors of any kind), and the caller then
// parses with yaml.v3, so behaviour and messages stay yaml.v3's.
//
// The trees compare equal in every field callgate reads (kind, style, tag,
// value, line, column, content); comments are not recorded. FuzzParse and
// TestFastParseMatchesYAML check it against yaml.v3.
//
// It exists because yaml.v3's scanner is most of the cost of loading a file
// with many named credentials; this one allocates its nodes in blocks and
// shares scalar values with one copy of the file.
func fastParse(data []byte) (doc *yaml.Node) {
	for _, c := range data {
		if (c < 0x20 || c > 0x7e) && c != '\n' {
			return nil
		}
	}
	p := &fastParser{src: string(data), line: 1}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fastFallback); !ok {
				panic(r)
			}
			doc = nil
		}
	}()
	indent := p.skipToContent()
	if indent < 0 {
		return nil
	}
	line, col := p.line, p.col()+1
	root, next := p.block(indent, 0)
	if next >= 0 {
		return nil
	}
	doc = p.newNode(yaml.DocumentNode, "", line, col)
	doc.Content = []*yaml.Node{root}
	return doc
}

// fastFallback is the panic value that abandons the fast parse.
type fastFallback struct{}

// Bounds of the fast path; past them yaml.v3 parses (and applies its own).
const (
	fastMaxDepth  = 32
	fastMaxKeyLen = 256
	fastSlabSize  = 1024
)

type fastParser struct {
	src    string
	pos    int
	line   int // 1-based line of pos
	lstart int // offset of that line's first byte
	slab   []yaml.Node
	ptrs   []*yaml.Node
	stack  []*yaml.Node // children of the collections being parsed
}

func (p *fastParser) fail() { panic(fastFallback{}) }

func (p *fastParser) col() int { return p.pos - p.lstart }

func (p *fastParser) newNode(kind yaml.Kind, tag string, line, col int) *yaml.Node {
	if len(p.slab) == 0 {
		p.slab = make([]yaml.Node, fastSlabSize)
	}
	n := &p.slab[0]
	p.slab = p.slab[1:]
	n.Kind, n.Tag, n.Line, n.Column = kind, tag, line, col
	return n
}

// children moves the stack above base into a Content slice.
func (p *fastParser) children(base int) []*yaml.Node {
	k := len(p.stack) - base
	if k == 0 {
		return nil
	}
	if len(p.ptrs) < k {
		p.ptrs = make([]*yaml.Node, max(k, 4*fastSlabSize))
	}
	out := p.ptrs[:k:k]
	p.ptrs = p.ptrs[k:]
	copy(out, p.stack[base:])
	clear(p.stack[base:])
	p.stack = p.stack[:base]
	return out
}

func (p *fastParser) peek(i int) byte {
	if p.pos+i < len(p.src) {
		return p.src[p.pos+i]
	}
	return '\n' // end of input reads as a line break
}

// skipToContent moves from the start of a line past blank and comment
// lines to the first content character; it returns that character's
// column (the indentation), or -1 at the end of the input.
func (p *fastParser) skipToContent() int {
	for {
		i := p.pos
		for i < len(p.src) && p.src[i] == ' ' {
			i++
		}
		if i == len(p.src) {
			p.pos = i
			return -1
		}
		switch p.src[i] {
		case '\n':
			p.newline(i + 1)
			continue
		case '#':
			nl := strings.IndexByte(p.src[i:], '\n')
			if nl < 0 {
				p.pos = len(p.src)
				return -1
			}
			p.newline(i + nl + 1)
			continue
		}
		p.pos = i
		return i - p.lstart
	}
}

func (p *fastParser) newline(at int) {
	p.pos, p.lstart = at, at
	p.line++
}

// endLine accepts the rest of a line after a value: spaces and a comment.
func (p *fastParser) endLine() {
	i := p.pos
	for i < len(p.src) && p.src[i] == ' ' {
		i++
	}
	if i < len(p.src) && p.src[i] == '#' && i > p.pos {
		if nl := strings.IndexByte(p.src[i:], '\n'); nl >= 0 {
			i += nl
		} else {
			i = len(p.src)
		}
	}
	switch {
	case i == len(p.src):
		p.pos = i
	case p.src[i] == '\n':
		p.newline(i + 1)
	default:
		p.fail()
	}
}

// isDash reports a block sequence entry indicator at pos.
func (p *fastParser) isDash() bool {
	return p.peek(0) == '-' && (p.peek(1) == ' ' || p.peek(1) == '\n')
}

// block parses the block collection whose first line starts at pos, at
// column indent. It returns the node and the indentation of the next
// content line (-1 at the end).
func (p *fastParser) block(indent, depth int) (*yaml.Node, int) {
	if depth > fastMaxDepth {
		p.fail()
	}
	if p.isDash() {
		return p.blockSequence(indent, depth)
	}
	return p.blockMapping(indent, depth)
}

func (p *fastParser) blockMapping(indent, depth int) (*yaml.Node, int) {
	n := p.newNode(yaml.MappingNode, "!!map", p.line, p.col()+1)
	base := len(p.stack)
	for {
		k := p.blockKey()
		p.stack = append(p.stack, k)
		v, next := p.value(indent, true, depth)
		p.stack = append(p.stack, v)
		if next != indent {
			if next > indent {
				p.fail()
			}
			n.Content = p.children(base)
			return n, next
		}
		if p.isDash() {
			p.fail()
		}
	}
}

func (p *fastParser) blockSequence(indent, depth int) (*yaml.Node, int) {
	n := p.newNode(yaml.SequenceNode, "!!seq", p.line, p.col()+1)
	base := len(p.stack)
	for {
		p.pos++ // the '-'
		v, next := p.value(indent, false, depth)
		p.stack = append(p.stack, v)
		if next != indent || !p.isDash() {
			if next > indent {
				p.fail()
			}
			n.Content = p.children(base)
			return n, next
		}
	}
}

// value parses what follows a mapping's ':' or a sequence's '-' (both
// followed by a space or a line break).
func (p *fastParser) value(indent int, inMapping bool, depth int) (*yaml.Node, int) {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
	if c := p.peek(0); c == '\n' || c == '#' {
		p.endLine()
		next := p.skipToContent()
		switch {
		case next > indent:
			return p.block(next, depth+1)
		case inMapping && next == indent && p.isDash():
			return p.blockSequence(next, depth+1)
		}
		p.fail() // an empty value: null, left to yaml.v3
	}
	if !inMapping && p.looksLikeKey() {
		return p.blockMapping(p.col(), depth+1)
	}
	v := p.inline(false, depth)
	p.endLine()
	return v, p.skipToContent()
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

func isKeyStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// keyLen is the length of the plain word at pos when a ':' and a space or
// line break follow it, else 0.
func (p *fastParser) keyLen() int {
	if !isKeyStart(p.peek(0)) {
		return 0
	}
	i := p.pos + 1
	for i < len(p.src) && isKeyChar(p.src[i]) {
		i++
	}
	if i == len(p.src) || p.src[i] != ':' || i+1 < len(p.src) && p.src[i+1] != ' ' && p.src[i+1] != '\n' {
		return 0
	}
	if i-p.pos > fastMaxKeyLen {
		return 0
	}
	return i - p.pos
}

func (p *fastParser) looksLikeKey() bool { return p.keyLen() > 0 }

// blockKey parses "word:" and leaves pos after the ':'.
func (p *fastParser) blockKey() *yaml.Node {
	l := p.keyLen()
	if l == 0 {
		p.fail()
	}
	k := p.plain(p.pos, p.pos+l)
	p.pos += l + 1
	return k
}

// plain makes the node of the plain scalar src[start:end].
func (p *fastParser) plain(start, end int) *yaml.Node {
	v := p.src[start:end]
	n := p.newNode(yaml.ScalarNode, plainTag(v), p.line, start-p.lstart+1)
	n.Value = v
	return n
}

// plainTag is the tag yaml.v3 resolves a plain scalar to (resolve.go):
// a string unless its first character can start a number, a bool, a null
// or a float constant. Words starting with a letter of that set are looked
// up in yaml.v3's table (true, false, null in three spellings each) here;
// the rest go to its resolver.
func plainTag(v string) string {
	if v == "" {
		return "!!null"
	}
	switch c := v[0]; {
	case '0' <= c && c <= '9', c == '+', c == '-', c == '.':
		return (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag()
	case c == '~' || strings.IndexByte("yYnNtTfFoO", c) >= 0:
		switch v {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return "!!bool"
		case "~", "null", "Null", "NULL":
			return "!!null"
		}
	}
	return "!!str"
}

// inline parses a scalar or a one-line flow collection at pos.
func (p *fastParser) inline(flow bool, depth int) *yaml.Node {
	switch p.peek(0) {
	case '{':
		return p.flowMapping(depth + 1)
	case '[':
		return p.flowSequence(depth + 1)
	case '"':
		return p.quoted('"', yaml.DoubleQuotedStyle)
	case '\'':
		return p.quoted('\'', yaml.SingleQuotedStyle)
	}
	return p.plainScalar(flow)
}

func (p *fastParser) quoted(q byte, style yaml.Style) *yaml.Node {
	start := p.pos
	i := start + 1
	escaped := false
	for {
		if i == len(p.src) || p.src[i] == '\n' || q == '"' && p.src[i] == '\\' {
			p.fail()
		}
		if p.src[i] == q {
			if q == '\'' && i+1 < len(p.src) && p.src[i+1] == '\'' {
				escaped = true
				i += 2
				continue
			}
			break
		}
		i++
	}
	v := p.src[start+1 : i]
	if escaped {
		v = strings.ReplaceAll(v, "''", "'")
	}
	n := p.newNode(yaml.ScalarNode, "!!str", p.line, start-p.lstart+1)
	n.Value, n.Style = v, style
	p.pos = i + 1
	return n
}

func isPlainStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '/' || c == '~'
}

// isPlainChar: characters the fast path accepts inside a plain scalar
// (':' and '#' have their own rules, checked by the caller).
func isPlainChar(c byte, flow bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case strings.IndexByte("_-./~@+=$%!*&()<>;^'\"", c) >= 0:
		return true
	case c == ',':
		return !flow
	}
	return false
}

// plainScalar scans a one-line plain scalar: words separated by spaces,
// ending at a line break, " #", ": ", or (in a flow collection) ',', ']'
// or '}'.
func (p *fastParser) plainScalar(flow bool) *yaml.Node {
	start := p.pos
	if !isPlainStart(p.peek(0)) {
		p.fail()
	}
	i, end := start, start
	for {
		for i < len(p.src) {
			c := p.src[i]
			if c == ' ' || c == '\n' {
				break
			}
			if c == ':' {
				next := byte('\n')
				if i+1 < len(p.src) {
					next = p.src[i+1]
				}
				if next == ' ' || next == '\n' {
					break
				}
				if !isPlainChar(next, flow) && next != ':' && next != '#' {
					p.fail()
				}
			} else if c == '#' {
				if i == start || p.src[i-1] == ' ' {
					break
				}
			} else if !isPlainChar(c, flow) {
				if flow && (c == ',' || c == ']' || c == '}') {
					break
				}
				p.fail()
			}
			i++
		}
		end = i
		j := i
		for j < len(p.src) && p.src[j] == ' ' {
			j++
		}
		if j == i || j == len(p.src) {
			break
		}
		c := p.src[j]
		if c == '\n' || c == '#' || flow && (c == ',' || c == ']' || c == '}') {
			break
		}
		if c == ':' && (j+1 == len(p.src) || p.src[j+1] == ' ' || p.src[j+1] == '\n') {
			break
		}
		i = j
	}
	if end == start {
		p.fail()
	}
	p.pos = end
	return p.plain(start, end)
}

func (p *fastParser) skipSpaces() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *fastParser) flowMapping(depth int) *yaml.Node {
	return p.flow(yaml.MappingNode, "!!map", '}', depth, func() {
		l := p.keyLen()
		if l == 0 || p.peek(l+1) != ' ' {
			p.fail()
		}
		p.stack = append(p.stack, p.plain(p.pos, p.pos+l))
		p.pos += l + 1
		p.skipSpaces()
		p.stack = append(p.stack, p.inline(true, depth))
	})
}

func (p *fastParser) flowSequence(depth int) *yaml.Node {
	return p.flow(yaml.SequenceNode, "!!seq", ']', depth, func() {
		p.stack = append(p.stack, p.inline(true, depth))
	})
}

// flow parses a one-line flow collection from its opening character to
// closing: entries, each pushed on the stack by entry, separated by commas.
func (p *fastParser) flow(kind yaml.Kind, tag string, closing byte, depth int, entry func()) *yaml.Node {
	if depth > fastMaxDepth {
		p.fail()
	}
	n := p.newNode(kind, tag, p.line, p.col()+1)
	n.Style = yaml.FlowStyle
	base := len(p.stack)
	p.pos++ // the opening '{' or '['
	p.skipSpaces()
	if p.peek(0) == closing {
		p.pos++
		return n
	}
	for {
		entry()
		p.skipSpaces()
		switch p.peek(0) {
		case ',':
			p.pos++
			p.skipSpaces()
			continue
		case closing:
			p.pos++
			n.Content = p.children(base)
			return n
		}
		p.fail()
	}
}
