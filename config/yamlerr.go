package config

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/callgate/callgate/internal/editdist"
	"github.com/callgate/callgate/internal/safeurl"
)

var durationType = reflect.TypeOf(time.Duration(0))

// The messages yaml.v3 puts in a *yaml.TypeError (decode.go), each
// "line N: ...". They carry the line but not the key; translate finds the
// key in the index.
var (
	reUnknownField = regexp.MustCompile(`(?s)^line (\d+): field (.*) not found in type \S+$`)
	reCannot       = regexp.MustCompile("(?s)^line (\\d+): cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
	reDupKey       = regexp.MustCompile(`(?s)^line (\d+): mapping key (".*") already defined at line (\d+)$`)
	reAlreadySet   = regexp.MustCompile(`(?s)^line (\d+): field (.+) already set in type \S+$`)
	reLine         = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)
)

// translate turns one yaml.v3 type error message into an *Error with the
// key path, and taints the path whose decoded value is unreliable.
func (c *compiler) translate(msg string) {
	if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		e := c.ix.find(line, func(e *entry) bool { return e.keyLine == line && e.key == m[2] && e.goType == "" })
		path, msgOut := "", fmt.Sprintf("unknown key %q", m[2])
		if e != nil {
			path = e.path
			msgOut += suggest(m[2], e.known)
		}
		c.add(&Error{Line: line, Key: path, Msg: msgOut, Err: ErrUnknownKey})
		return
	}
	if m := reCannot.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		tag, into := m[2], m[4]
		e := c.ix.find(line, func(e *entry) bool {
			v := target(e.node)
			return v.Line == line && e.goType == into && nodeMatches(v, tag, m[3])
		})
		if e == nil {
			e = c.ix.find(line, func(e *entry) bool { return target(e.node).Line == line && e.goType == into })
		}
		if e == nil {
			c.add(&Error{Line: line, Msg: fmt.Sprintf("want %s, got %s", describeGoType(into), describeTag(tag, m[3])), Err: ErrType})
			return
		}
		c.taint(e.path)
		c.add(&Error{Line: e.keyLine, Key: e.path, Msg: fmt.Sprintf("want %s, got %s", describeGoType(into), describeNode(target(e.node))), Err: ErrType})
		return
	}
	if m := reDupKey.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		key, err := strconv.Unquote(m[2])
		if err != nil {
			key = m[2]
		}
		c.duplicateKey(line, key, m[3])
		return
	}
	if m := reAlreadySet.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		c.duplicateKey(line, m[2], "")
		return
	}
	if m := reLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		c.add(&Error{Line: line, Msg: m[2], Err: ErrType})
		return
	}
	c.add(&Error{Msg: msg, Err: ErrType})
}

// duplicateKey reports a key written twice in one mapping. yaml.v3 then
// skips the whole mapping, so everything under its parent is unreliable.
func (c *compiler) duplicateKey(line int, key, firstLine string) {
	e := c.ix.find(line, func(e *entry) bool { return e.keyLine == line && e.key == key })
	msg := fmt.Sprintf("duplicate key %q", key)
	if firstLine != "" {
		msg += " (first at line " + firstLine + ")"
	}
	if e == nil {
		c.add(&Error{Line: line, Msg: msg, Err: ErrDuplicateKey})
		c.taint("") // cannot tell which mapping: trust nothing
		return
	}
	c.taint(parentPath(e.path))
	c.add(&Error{Line: line, Key: e.path, Msg: msg, Err: ErrDuplicateKey})
}

// syntaxError converts a yaml.v3 parse error ("yaml: line N: ..."). For
// parser (not scanner) errors yaml.v3 reports a 0-based line, often of the
// enclosing construct, so the line is recomputed: the first line at which
// the text so far fails with the same problem.
func syntaxError(data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return &Error{Msg: "invalid YAML: " + msg, Err: ErrSyntax}
	}
	line, _ := strconv.Atoi(m[1])
	if l := firstFailingLine(data, m[2], line); l > 0 {
		line = l
	}
	return &Error{Line: line, Msg: "invalid YAML: " + m[2], Err: ErrSyntax}
}

// syntaxScanBudget bounds the re-parsing (quadratic in the worst case) so
// a huge broken file cannot stall a reload.
const syntaxScanBudget = 4 << 20

// firstFailingLine returns the first line, from line from on, at which the
// text so far fails to parse with the same problem; 0 if none is found
// within the budget. yaml.v3's own number is never past the real line, so
// the scan starts there.
func firstFailingLine(data []byte, problem string, from int) int {
	end, budget := 0, syntaxScanBudget
	for line := 1; end < len(data); line++ {
		next := bytes.IndexByte(data[end:], '\n')
		if next < 0 {
			end = len(data)
		} else {
			end += next + 1
		}
		if line < from {
			continue
		}
		if budget -= end; budget < 0 {
			return 0
		}
		var n yaml.Node
		err := yaml.Unmarshal(data[:end], &n)
		if err == nil {
			continue
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := reLine.FindStringSubmatch(msg); m != nil {
			msg = m[2]
		}
		if msg == problem {
			return line
		}
	}
	return 0
}

// target follows an alias (*name) to the node it stands for, which is
// where yaml.v3 reports a decode error.
func target(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

// nodeMatches reports whether n is the node yaml.v3 described by tag and
// its (possibly shortened: "abcdefg...") value.
func nodeMatches(n *yaml.Node, tag, value string) bool {
	switch tag {
	case "!!map":
		return n.Kind == yaml.MappingNode
	case "!!seq":
		return n.Kind == yaml.SequenceNode
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if short, ok := strings.CutSuffix(value, "..."); ok && len(n.Value) > 10 {
		return strings.HasPrefix(n.Value, short)
	}
	return n.Value == value
}

// describeGoType names a raw Go type the way an operator thinks of it.
func describeGoType(t string) string {
	switch {
	case t == "time.Duration":
		return "a duration in Go syntax such as 30s, 5m or 1h30m"
	case t == "string" || t == "*string":
		return "a string"
	case t == "bool":
		return "true or false"
	case t == "int":
		return "an integer"
	case t == "float64":
		return "a number"
	case t == "[]string":
		return "a list of strings"
	case t == "map[string]string":
		return "a mapping of strings to strings"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	}
	return "a mapping"
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	v := safeurl.Redact(n.Value) // a URL in the wrong key may hold a password
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	return strconv.Quote(v)
}

func describeTag(tag, value string) string {
	switch tag {
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	}
	return strconv.Quote(safeurl.Redact(value))
}

// suggest offers the closest allowed key for a misspelled one, else lists
// the allowed keys.
func suggest(key string, known []string) string {
	if len(known) == 0 {
		return ""
	}
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := editdist.Distance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(1, len(key)/3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (allowed: " + strings.Join(known, ", ") + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
