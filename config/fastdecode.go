package config

import (
	"slices"

	"go.yaml.in/yaml/v3"
)

// decodeRaw decodes the document into the raw structs: root.Decode, except
// that for a tree from fastParse the named_credentials list, often most of
// the file, is decoded by hand. The result and the error are the same as
// root.Decode's (TestDecodeRawMatchesYAML and FuzzParse check it): a fast
// tree holds no aliases, anchors, tags or merge keys, so an item decodes
// the same alone as in the whole, and any item the hand decoder does not
// fully understand is decoded by yaml.v3 alone; if that fails, the whole
// document is decoded by yaml.v3 as before.
func decodeRaw(doc *yaml.Node, fast bool) (rawConfig, error) {
	raw := defaultRaw()
	if fast {
		// A duplicate key makes yaml.v3 skip the whole mapping, list and all.
		if top := doc.Content[0]; top.Kind == yaml.MappingNode && !hasDuplicateKey(top) {
			if i := uniqueKeyAt(top, "named_credentials"); i >= 0 {
				if creds, ok := decodeNamedCredentials(top.Content[i+1]); ok {
					rest := *top
					rest.Content = slices.Delete(slices.Clone(top.Content), i, i+2)
					d := *doc
					d.Content = []*yaml.Node{&rest}
					err := d.Decode(&raw)
					raw.NamedCredentials = creds
					return raw, err
				}
			}
		}
	}
	err := doc.Decode(&raw)
	return raw, err
}

// uniqueKeyAt is the index in m.Content of the plain key name, or -1 when
// it is absent or there twice.
func uniqueKeyAt(m *yaml.Node, name string) int {
	at := -1
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == name {
			if at >= 0 || k.Tag != "!!str" {
				return -1
			}
			at = i
		}
	}
	return at
}

// decodeNamedCredentials decodes a list of named credentials from a fast
// tree; ok is false when yaml.v3 would report a problem in it.
func decodeNamedCredentials(seq *yaml.Node) ([]rawNamedCredential, bool) {
	if seq.Kind != yaml.SequenceNode {
		return nil, false
	}
	out := make([]rawNamedCredential, len(seq.Content))
	for i, item := range seq.Content {
		if item.Kind != yaml.MappingNode {
			return nil, false
		}
		if !decodeSimpleCredential(item, &out[i]) {
			out[i] = rawNamedCredential{}
			if err := item.Decode(&out[i]); err != nil {
				return nil, false
			}
		}
	}
	return out, true
}

// decodeSimpleCredential decodes an item whose keys are name, url and
// outbound_network_connection, each at most once and each a string, as
// yaml.v3 does (a string scalar into a string field is its value); false
// for anything else.
func decodeSimpleCredential(m *yaml.Node, r *rawNamedCredential) bool {
	var seen uint8
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
			return false
		}
		var bit uint8
		switch k.Value {
		case "name":
			bit, r.Name = 1, v.Value
		case "url":
			bit, r.URL = 2, v.Value
		case "outbound_network_connection":
			bit, r.OutboundNetworkConnection = 4, v.Value
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return true
}
