package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parse reads a subcommand's command line. Flags may come before, between
// or after the positional arguments (`teardown NAME --admin URL`), as
// people type them; `--` ends the flags. Every positional argument of c is
// required and no other is accepted, since an argument that is silently
// ignored (`serve base.yaml` without --config) runs something the user did
// not ask for.
//
// ok reports whether the command should run; when it is false, code is the
// exit status: 0 after --help or -h (the help went to stdout), 2 after a
// mistake (explained on stderr).
func (c *command) parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	fs.SetOutput(stderr)
	// flag prints its own error line; the usage line follows from here.
	fs.Usage = func() {}
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.printHelp(stdout, fs)
			return nil, 0, false
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s\nrun 'callgate %s --help' for more\n", c.usageLine(), c.name)
			return nil, 2, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest) - 1; i >= 0 && args[i] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < len(c.args) {
		missing := c.args[len(pos)]
		return nil, c.usageError(stderr, "missing %s: %s", missing.name, missing.what), false
	}
	if extra := pos[len(c.args):]; len(extra) > 0 {
		return nil, c.usageError(stderr, "%s", c.extraArgs(fs, extra)), false
	}
	return pos, 0, true
}

// extraArgs says what is wrong with arguments beyond the command's, and
// what was probably meant.
func (c *command) extraArgs(fs *flag.FlagSet, extra []string) string {
	quoted := make([]string, len(extra))
	for i, a := range extra {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	what := "unexpected argument " + quoted[0]
	if len(extra) > 1 {
		what = "unexpected arguments " + strings.Join(quoted, " ")
	}
	switch {
	case len(c.args) == 0 && len(extra) == 1 && fs.Lookup("config") != nil:
		return fmt.Sprintf("%s (did you mean --config %s?)", what, extra[0])
	case len(c.args) == 0:
		return fmt.Sprintf("%s: %s takes no arguments", what, c.name)
	}
	names := make([]string, len(c.args))
	for i, a := range c.args {
		names[i] = a.name
	}
	return fmt.Sprintf("%s: %s takes one %s", what, c.name, strings.Join(names, " "))
}
