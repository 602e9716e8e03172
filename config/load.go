package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"
)

// Load reads and compiles the config file at path. On any problem it
// returns a nil *Config and every problem found, joined (errors.Join), each
// an *Error printing as "config FILE:LINE: key.path: message".
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", err), Err: fmt.Errorf("%w: %w", ErrFile, err)}
	}
	return Parse(path, data)
}

// Parse compiles config data; file names it in errors, in Config.File, and
// as the base of relative paths inside it (its directory; "" and bare names
// mean the working directory). Errors are as for Load.
func Parse(file string, data []byte) (*Config, error) {
	if file == "" {
		file = "config.yaml"
	}
	c := &compiler{file: file, dir: filepath.Dir(file)}
	raw, ok := c.decode(data)
	var cfg *Config
	if ok {
		cfg = c.compile(&raw)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	cfg.File, cfg.Hash = file, hex.EncodeToString(sum[:])
	return cfg, nil
}

// maxErrors is how many problems one Parse reports.
const maxErrors = 100

// compiler collects the problems of one Parse call.
type compiler struct {
	file string
	dir  string // base of relative paths
	ix   *index
	errs []*Error
	// semantic marks errors from validation (as opposed to decoding), which
	// are dropped under a tainted path: there the decoded value is not what
	// the file says, so judging it would only add noise.
	semantic map[*Error]bool
	tainted  []string
}

func (c *compiler) add(e *Error) {
	e.File = c.file
	c.errs = append(c.errs, e)
}

// errorf records a validation problem at key; the line comes from the
// index (or the nearest ancestor that the file spells out).
func (c *compiler) errorf(key string, kind error, format string, args ...any) {
	e := &Error{Line: c.ix.line(key), Key: key, Msg: fmt.Sprintf(format, args...), Err: kind}
	if c.semantic == nil {
		c.semantic = make(map[*Error]bool)
	}
	c.semantic[e] = true
	c.add(e)
}

func (c *compiler) taint(path string) { c.tainted = append(c.tainted, path) }

func (c *compiler) err() error {
	var out []error
	kept := make([]*Error, 0, len(c.errs))
	seen := make(map[Error]bool, len(c.errs))
	for _, e := range c.errs {
		if c.semantic[e] && c.isTainted(e.Key) {
			continue
		}
		// A node reached through several aliases fails once per alias.
		k := *e
		k.Err = nil
		if seen[k] {
			continue
		}
		seen[k] = true
		kept = append(kept, e)
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Line < kept[j].Line })
	for _, e := range kept {
		if len(out) == maxErrors {
			// Past this, more lines help nobody and a hostile file could
			// make the error itself huge.
			out = append(out, &Error{File: c.file, Msg: fmt.Sprintf("%d more problems not shown", len(kept)-maxErrors)})
			break
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func (c *compiler) isTainted(key string) bool {
	for _, t := range c.tainted {
		if t == "" || underPath(key, t) {
			return true
		}
	}
	return false
}

// decode parses data into the raw structs, strictly. ok is false when
// nothing sensible was decoded (bad syntax, not a mapping), so there is
// nothing to validate; type errors and unknown keys leave ok true and are
// recorded, so one run reports them together with the validation problems.
func (c *compiler) decode(data []byte) (raw rawConfig, ok bool) {
	c.ix = newIndex(nil)
	defer func() {
		// The YAML library turns its own failures into errors; anything
		// else is a bug in it that hostile input must not turn into a crash.
		if r := recover(); r != nil {
			c.add(&Error{Msg: fmt.Sprintf("YAML decoder failed: %v", r), Err: ErrSyntax})
			ok = false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // unknown keys are type errors, each with its line
	var doc document
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		c.add(&Error{Msg: "the file holds no YAML document (an empty config is refused so a truncated file cannot drop every connection)", Err: ErrSyntax})
		return raw, false
	}
	var te *yaml.TypeError
	if err != nil && !errors.As(err, &te) {
		c.add(syntaxError(data, err))
		return raw, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			c.add(syntaxError(data, err))
		} else {
			c.add(&Error{Line: extra.Line, Msg: "a second YAML document: callgate reads exactly one", Err: ErrSyntax})
		}
		return raw, false
	}
	root := doc.tree.node
	if root == nil || root.Kind != yaml.MappingNode {
		line := 0
		if root != nil {
			line = root.Line
		} else {
			// A null document never reaches UnmarshalYAML; parse the
			// (tiny) file again for its line.
			var n yaml.Node
			if yaml.Unmarshal(data, &n) == nil && len(n.Content) > 0 {
				line = n.Content[0].Line
			}
		}
		c.add(&Error{Line: line, Msg: "the top level must be a mapping of keys (listen:, aws:, named_credentials:, ...)", Err: ErrType})
		return raw, false
	}
	c.ix = newIndex(root)
	if te != nil {
		for _, m := range te.Errors {
			c.translate(m)
		}
	}
	return doc.raw, true
}

// document is what the decoder fills: the tree of the top-level mapping,
// which the index needs for the line of every key, and the raw structs.
// UnmarshalYAML takes the callback form because the decoder hands that
// callback its own settings (KnownFields included) and the tree it has
// already parsed, so the file is parsed once and decoded strictly once.
type document struct {
	tree tree
	raw  rawConfig
}

func (d *document) UnmarshalYAML(unmarshal func(any) error) error {
	if err := unmarshal(&d.tree); err != nil {
		return err
	}
	if d.tree.node.Kind != yaml.MappingNode {
		return nil
	}
	return unmarshal(&d.raw)
}

// tree keeps the node it is decoded from.
type tree struct{ node *yaml.Node }

func (t *tree) UnmarshalYAML(n *yaml.Node) error {
	t.node = n
	return nil
}

// complete reports whether the decoded list at path has as many items as
// the file: yaml.v3 drops an item it cannot decode, which would shift every
// later index, so such a list is not validated item by item (the decode
// error is already reported).
func (c *compiler) complete(path string, decoded int) bool {
	n := c.ix.seqLen(path)
	if n < 0 && decoded == 0 || n == decoded {
		return true
	}
	c.taint(path)
	// Usually the item's decode error is already reported; a null item
	// ("- ~" or a bare "-") is dropped without one.
	for i := 0; i < n; i++ {
		item := fmt.Sprintf("%s[%d]", path, i)
		if e := c.ix.entryAt(item); e != nil && e.node.ShortTag() == "!!null" {
			c.add(&Error{Line: e.keyLine, Key: item, Msg: "empty list item", Err: ErrMissing})
		}
	}
	if !c.hasErrorUnder(path) {
		c.add(&Error{Line: c.ix.line(path), Key: path, Msg: fmt.Sprintf("%d of %d items could not be decoded", n-decoded, n), Err: ErrType})
	}
	return false
}

func (c *compiler) hasErrorUnder(path string) bool {
	for _, e := range c.errs {
		if underPath(e.Key, path) {
			return true
		}
	}
	return false
}
