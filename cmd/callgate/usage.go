package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command describes a subcommand for its --help: what it takes and which
// environment variables change what it does, so a user never has to read
// the code to find them.
type command struct {
	name string
	// args are the positional arguments, every one required ("NAME").
	args []argument
	// about says what the command does, a paragraph of plain text.
	about string
	env   []envVar
}

type argument struct{ name, what string }

type envVar struct{ name, what string }

// The environment variables the admin API commands honour.
var adminEnv = []envVar{
	{"CALLGATE_ADMIN", "default of --admin"},
	{"CALLGATE_ADMIN_TOKEN_FILE", "default of --token-file"},
}

// awsEnv is what the AWS SDK's default credential chain reads in aws
// mode; listed so `whoami` and `serve` say where credentials come from.
var awsEnv = []envVar{
	{"AWS_ACCESS_KEY_ID", "with AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN): static credentials (aws mode)"},
	{"AWS_PROFILE", "a profile of ~/.aws/config and ~/.aws/credentials (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) (aws mode)"},
	{"AWS_ROLE_ARN", "with AWS_WEB_IDENTITY_TOKEN_FILE: web identity, as EKS IRSA sets them (aws mode)"},
	{"AWS_EC2_METADATA_DISABLED", "true: no instance role from the metadata service (aws mode)"},
}

// configEnv stands for the variables a config file makes callgate read at
// load.
var configEnv = envVar{"*_env keys", "the variables the config names in password_env, token_env, value_env, client_secret_env"}

func (c *command) usageLine() string {
	var b strings.Builder
	b.WriteString("usage: callgate " + c.name + " [flags]")
	for _, a := range c.args {
		b.WriteString(" " + a.name)
	}
	return b.String()
}

// printHelp writes the --help text: usage line, what it does, arguments,
// flags and environment.
func (c *command) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\n\n%s\n", c.usageLine(), c.about)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	if len(c.args) > 0 {
		fmt.Fprintln(tw, "\narguments:")
		for _, a := range c.args {
			fmt.Fprintf(tw, "  %s\t%s\n", a.name, a.what)
		}
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(tw, "\nflags:")
			first = false
		}
		kind, what := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if kind != "" {
			name += " " + kind
		}
		if f.DefValue != "" && f.DefValue != "false" {
			what += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, what)
	})
	if len(c.env) > 0 {
		fmt.Fprintln(tw, "\nenvironment:")
		for _, e := range c.env {
			fmt.Fprintf(tw, "  %s\t%s\n", e.name, e.what)
		}
	}
	_ = tw.Flush()
}

// usageError reports a wrong command line on stderr, with the way to the
// help, and returns the exit code for it.
func (c *command) usageError(stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "callgate %s: %s\n%s\nrun 'callgate %s --help' for more\n", c.name, fmt.Sprintf(format, a...), c.usageLine(), c.name)
	return 2
}
