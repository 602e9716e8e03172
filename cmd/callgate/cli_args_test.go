package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// cliRun runs the built callgate binary with args and env (nil: a clean
// environment) and returns what it printed and its exit code. A command
// that should only print and exit but keeps running (serve started by
// mistake) is killed after 20s and fails the test.
func cliRun(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2eBinary(t), args...)
	if env == nil {
		env = e2eCleanEnv()
	}
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("callgate %s was still running after 20s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("callgate %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestSubcommandHelp types `callgate CMD --help`, `-h` and `callgate help
// CMD` for every subcommand: exit 0, the help on stdout, with the
// arguments the command takes and the environment variables it honours.
func TestSubcommandHelp(t *testing.T) {
	want := map[string]struct{ usage, env []string }{
		"serve":        {[]string{"usage: callgate serve [flags]\n", "--config FILE"}, []string{"GOMEMLIMIT", "AWS_ACCESS_KEY_ID", "*_env"}},
		"demo":         {[]string{"usage: callgate demo [flags]\n", "--exit"}, nil},
		"check-config": {[]string{"usage: callgate check-config [flags] FILE\n", "\n  FILE "}, []string{"*_env"}},
		"status":       {[]string{"usage: callgate status [flags]\n", "-o FORMAT"}, []string{"CALLGATE_ADMIN ", "CALLGATE_ADMIN_TOKEN_FILE"}},
		"provision":    {[]string{"usage: callgate provision [flags] NAME\n", "\n  NAME "}, []string{"CALLGATE_ADMIN ", "CALLGATE_ADMIN_TOKEN_FILE"}},
		"sync":         {[]string{"usage: callgate sync [flags] NAME\n", "\n  NAME "}, []string{"CALLGATE_ADMIN ", "CALLGATE_ADMIN_TOKEN_FILE"}},
		"teardown":     {[]string{"usage: callgate teardown [flags] NAME\n", "\n  NAME "}, []string{"CALLGATE_ADMIN ", "CALLGATE_ADMIN_TOKEN_FILE"}},
		"whoami":       {[]string{"usage: callgate whoami [flags]\n", "--config FILE"}, []string{"AWS_PROFILE", "AWS_ROLE_ARN"}},
		"explain":      {[]string{"usage: callgate explain [flags] URL\n", "\n  URL ", "--method METHOD"}, []string{"CALLGATE_ADMIN ", "CALLGATE_ADMIN_TOKEN_FILE"}},
		"version":      {[]string{"usage: callgate version [flags]\n"}, nil},
	}
	for name := range runners {
		if _, ok := want[name]; !ok {
			t.Errorf("subcommand %s has no help expectations here", name)
		}
	}
	for name, w := range want {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			out, errOut, code := cliRun(t, nil, args...)
			line := "callgate " + strings.Join(args, " ")
			if code != 0 || errOut != "" {
				t.Errorf("%s: exit %d, stderr %q; want 0 and nothing", line, code, errOut)
			}
			if !strings.HasPrefix(out, w.usage[0]) {
				t.Errorf("%s: stdout does not start with %q:\n%s", line, w.usage[0], out)
			}
			for _, s := range w.usage[1:] {
				if !strings.Contains(out, s) {
					t.Errorf("%s: help lacks %q:\n%s", line, s, out)
				}
			}
			if len(w.env) > 0 && !strings.Contains(out, "\nenvironment:\n") {
				t.Errorf("%s: help has no environment section:\n%s", line, out)
			}
			for _, s := range w.env {
				if !strings.Contains(out, "\n  "+s) {
					t.Errorf("%s: help does not list %s:\n%s", line, s, out)
				}
			}
		}
	}
}

// TestExtraArgumentsAreErrors: an argument a subcommand does not take is
// a usage error (exit 2, nothing started) that says what was probably
// meant, never silently ignored.
func TestExtraArgumentsAreErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "base.yaml"}, `unexpected argument "base.yaml" (did you mean --config base.yaml?)`},
		{[]string{"serve", "--log.level", "debug", "base.yaml"}, `did you mean --config base.yaml?`},
		{[]string{"whoami", "base.yaml"}, `did you mean --config base.yaml?`},
		{[]string{"check-config"}, "missing FILE"},
		{[]string{"check-config", "a.yaml", "b.yaml"}, `unexpected argument "b.yaml": check-config takes one FILE`},
		{[]string{"status", "orders"}, `unexpected argument "orders": status takes no arguments`},
		{[]string{"provision"}, "missing NAME"},
		{[]string{"provision", "a", "b"}, `unexpected argument "b": provision takes one NAME`},
		{[]string{"sync", "a", "--admin", "http://127.0.0.1:1", "b", "c"}, `unexpected arguments "b" "c": sync takes one NAME`},
		{[]string{"teardown", "a", "b"}, `unexpected argument "b": teardown takes one NAME`},
		{[]string{"demo", "now"}, `unexpected argument "now": demo takes no arguments`},
		{[]string{"explain", "https://a.example/", "https://b.example/"}, `unexpected argument "https://b.example/": explain takes one URL`},
		{[]string{"version", "x"}, `unexpected argument "x": version takes no arguments`},
		{[]string{"serve", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
	}
	for _, tc := range tests {
		line := "callgate " + strings.Join(tc.args, " ")
		out, errOut, code := cliRun(t, nil, tc.args...)
		if code != 2 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want 2 and nothing", line, code, out)
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: stderr lacks %q:\n%s", line, tc.want, errOut)
		}
		if !strings.Contains(errOut, "--help") {
			t.Errorf("%s: stderr does not point at --help:\n%s", line, errOut)
		}
	}
}
