package config

import (
	"errors"
	"fmt"
)

// Sentinel kinds of config problems. Every *Error wraps one of them, so
// callers can ask errors.Is(err, config.ErrUnknownKey) on a joined error.
var (
	// ErrSyntax: the file is not well-formed YAML, is empty, or holds more
	// than one document.
	ErrSyntax = errors.New("invalid YAML")
	// ErrUnknownKey: a key that callgate does not know (often a typo).
	ErrUnknownKey = errors.New("unknown key")
	// ErrType: a value of the wrong YAML type (a list where a string
	// belongs, "yes" for a duration, ...).
	ErrType = errors.New("wrong type")
	// ErrDuplicateKey: the same key twice in one YAML mapping.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrMissing: a required key is absent or empty.
	ErrMissing = errors.New("missing required key")
	// ErrInvalid: a value of the right type that is not allowed here.
	ErrInvalid = errors.New("invalid value")
	// ErrDuplicate: two entries that must differ (names, destinations) do not.
	ErrDuplicate = errors.New("duplicate entry")
	// ErrFile: a file the config names cannot be read or holds the wrong thing.
	ErrFile = errors.New("unusable file")
	// ErrReference: a name that refers to nothing configured.
	ErrReference = errors.New("unknown reference")
)

// Error is one problem in a config file. Load and Parse return every
// problem they find, joined with errors.Join; each prints as
// "config FILE:LINE: key.path: message".
type Error struct {
	File string // the path given to Load or the name given to Parse
	Line int    // 1-based line; 0 when the problem is not tied to a line
	Key  string // dotted key path, e.g. "named_credentials[1].url"; "" for the file as a whole
	Msg  string // what is wrong, for a human
	Err  error  // the sentinel kind (ErrUnknownKey, ...) or an underlying error; may be nil
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("config %s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("config %s: %s: %s", loc, e.Key, e.Msg)
}

// Unwrap exposes the sentinel kind to errors.Is.
func (e *Error) Unwrap() error { return e.Err }
