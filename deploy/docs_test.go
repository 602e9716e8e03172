package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dockerfileInfo is what the tests read from the Dockerfile: its ARG
// defaults substituted, the stages' base images, and the final stage's
// instructions.
type dockerfileInfo struct {
	text       string
	bases      []string
	finalStage []string // instruction lines of the last stage
}

func parseDockerfile(t *testing.T) dockerfileInfo {
	t.Helper()
	text := readText(t, dockerfile)
	// Join continuation lines, drop comments.
	var lines []string
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		if cur != "" {
			lines = append(lines, cur)
		}
		cur = ""
	}
	args := map[string]string{}
	argRef := regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
	subst := func(s string) string {
		return argRef.ReplaceAllStringFunc(s, func(m string) string {
			name := argRef.FindStringSubmatch(m)[1]
			if v, ok := args[name]; ok {
				return v
			}
			return m
		})
	}
	info := dockerfileInfo{text: strings.Join(lines, "\n")}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(instr) {
		case "ARG":
			if k, v, ok := strings.Cut(rest, "="); ok {
				if _, seen := args[k]; !seen {
					args[k] = v
				}
			}
		case "FROM":
			fields := strings.Fields(subst(rest))
			for _, f := range fields {
				if !strings.HasPrefix(f, "--") {
					info.bases = append(info.bases, f)
					break
				}
			}
			info.finalStage = nil
		}
		info.finalStage = append(info.finalStage, subst(l))
	}
	return info
}

func (d dockerfileInfo) final(instr string) []string {
	var out []string
	for _, l := range d.finalStage {
		if i, rest, _ := strings.Cut(l, " "); strings.EqualFold(i, instr) {
			out = append(out, rest)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	if len(d.bases) < 2 {
		t.Fatalf("stages %v: want a multi-stage build", d.bases)
	}
	goMod := readText(t, filepath.Join(repoRoot, "go.mod"))
	goLine := regexp.MustCompile(`(?m)^go ([0-9]+\.[0-9]+)`).FindStringSubmatch(goMod)
	if len(goLine) < 2 {
		t.Fatal("go.mod has no go line")
	}
	if want := "golang:" + goLine[1]; d.bases[0] != want && !strings.HasPrefix(d.bases[0], want+"-") && !strings.HasPrefix(d.bases[0], want+".") {
		t.Errorf("builder is %s, want %s (go.mod says go %s)", d.bases[0], want, goLine[1])
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=`, "go build", "./cmd/callgate"} {
		if !strings.Contains(d.text, want) {
			t.Errorf("the build lacks %q", want)
		}
	}
	final := d.bases[len(d.bases)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage is %s, want distroless static or scratch", final)
	}
	if final == "scratch" && !strings.Contains(d.text, "ca-certificates") {
		t.Error("a scratch image needs CA certificates copied in")
	}
	users := d.final("USER")
	if len(users) == 0 && !strings.HasSuffix(final, ":nonroot") {
		t.Error("the final stage sets no USER and its base is not :nonroot")
	}
	for _, u := range users {
		if name, _, _ := strings.Cut(u, ":"); name == "0" || name == "root" {
			t.Errorf("USER %s is root", u)
		}
	}
	if ep := d.final("ENTRYPOINT"); len(ep) != 1 || !jsonEqual(ep[0], `["/callgate"]`) {
		t.Errorf("ENTRYPOINT = %v, want [\"/callgate\"]", ep)
	}
	copied := false
	for _, c := range d.final("COPY") {
		copied = copied || (strings.Contains(c, "--from=") && strings.HasSuffix(c, " /callgate"))
	}
	if !copied {
		t.Error("the final stage does not copy the binary to /callgate")
	}
	expose := strings.Join(d.final("EXPOSE"), " ")
	for _, p := range []string{"3128", "9090"} {
		if !strings.Contains(" "+expose+" ", " "+p+" ") {
			t.Errorf("EXPOSE %q lacks %s", expose, p)
		}
	}
	// The image's default command is what the Deployment runs.
	cmd := d.final("CMD")
	m := loadManifests(t)
	args, _ := json.Marshal(m.container(t).Args)
	if len(cmd) != 1 || !jsonEqual(cmd[0], string(args)) {
		t.Errorf("CMD %v differs from the Deployment's args %s", cmd, args)
	}
	// -X main.version needs the variable.
	if !grepDir(t, filepath.Join(repoRoot, "cmd", "callgate"), regexp.MustCompile(`(?m)^\s*(var\s+)?version\s*=\s*"`)) {
		t.Error("cmd/callgate has no `var version = \"…\"` for -X main.version to set")
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func grepDir(t *testing.T, dir string, re *regexp.Regexp) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") && re.MatchString(readText(t, f)) {
			return true
		}
	}
	return false
}

// dockerignore holds .dockerignore's patterns as regular expressions,
// following Docker's rules: paths relative to the context root, `**` any
// number of directories, a pattern that matches a directory excludes what
// is under it, `!` re-includes, the last matching pattern wins.
type dockerignore []struct {
	re      *regexp.Regexp
	include bool
}

func parseDockerignore(t *testing.T, text string) dockerignore {
	t.Helper()
	var out dockerignore
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		include := strings.HasPrefix(l, "!")
		l = strings.Trim(strings.TrimPrefix(l, "!"), "/")
		var b strings.Builder
		b.WriteString("^")
		for i := 0; i < len(l); i++ {
			switch {
			case strings.HasPrefix(l[i:], "**/"):
				b.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(l[i:], "**"):
				b.WriteString(".*")
				i++
			case l[i] == '*':
				b.WriteString("[^/]*")
			case l[i] == '?':
				b.WriteString("[^/]")
			default:
				b.WriteString(regexp.QuoteMeta(l[i : i+1]))
			}
		}
		b.WriteString("(/.*)?$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			t.Fatalf(".dockerignore pattern %q: %v", l, err)
		}
		out = append(out, struct {
			re      *regexp.Regexp
			include bool
		}{re, include})
	}
	return out
}

func (d dockerignore) excludes(path string) bool {
	excluded := false
	for _, p := range d {
		if p.re.MatchString(path) {
			excluded = !p.include
		}
	}
	return excluded
}

func TestDockerignoreMatcher(t *testing.T) {
	d := parseDockerignore(t, "bin/\n/callgate\n**/testdata/\n**/*_test.go\n*.md\ndocs/\n!docs/keep.md\n")
	tests := []struct {
		path     string
		excluded bool
	}{
		{"bin/callgate", true},
		{"callgate", true},
		{"cmd/callgate/main.go", false},
		{"config/testdata/ca.pem", true},
		{"proxy/server_test.go", true},
		{"README.md", true},
		{"docs/operations.md", true},
		{"docs/keep.md", false},
		{"cmd/callgate/default.yaml", false},
	}
	for _, tc := range tests {
		if got := d.excludes(tc.path); got != tc.excluded {
			t.Errorf("excludes(%q) = %v, want %v", tc.path, got, tc.excluded)
		}
	}
}

// TestDockerignoreKeepsTheBuildInputs lists what `go build ./cmd/callgate`
// reads (go.mod, go.sum, every Go and embedded file of every package it
// depends on in this module) and checks .dockerignore excludes none of it.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	ign := parseDockerignore(t, readText(t, dockerignoreFile))
	for _, f := range []string{"go.mod", "go.sum"} {
		if ign.excludes(f) {
			t.Errorf(".dockerignore excludes %s", f)
		}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "list", "-e", "-deps",
		"-f", `{{if not .Standard}}{{.Dir}}|{{join .GoFiles ","}}|{{join .EmbedFiles ","}}{{end}}`, "./cmd/callgate")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, rest, ok := strings.Cut(line, "|")
		if !ok || !strings.HasPrefix(dir, root+string(filepath.Separator)) {
			continue // a module dependency, not in the build context
		}
		rel, _ := filepath.Rel(root, dir)
		goFiles, embeds, _ := strings.Cut(rest, "|")
		for _, f := range append(strings.Split(goFiles, ","), strings.Split(embeds, ",")...) {
			if f == "" {
				continue
			}
			n++
			p := filepath.ToSlash(filepath.Join(rel, f))
			if ign.excludes(p) {
				t.Errorf(".dockerignore excludes %s, which the build needs", p)
			}
		}
	}
	if n == 0 {
		t.Fatal("go list found no files of ./cmd/callgate")
	}
}

type iamPolicy struct {
	Version   string `json:"Version"`
	Statement []struct {
		Sid       string                    `json:"Sid"`
		Effect    string                    `json:"Effect"`
		Action    json.RawMessage           `json:"Action"`
		Resource  json.RawMessage           `json:"Resource"`
		Condition map[string]map[string]any `json:"Condition"`
	} `json:"Statement"`
}

// stringOrList decodes IAM's "a string or a list of strings".
func stringOrList(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		t.Fatalf("%s: not a string or a list of strings", raw)
	}
	return many
}

func TestIAMPolicy(t *testing.T) {
	b, err := os.ReadFile(iamPolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	var p iamPolicy
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", iamPolicyFile, err)
	}
	if p.Version != "2012-10-17" {
		t.Errorf("Version = %q, want 2012-10-17", p.Version)
	}
	want := map[string]bool{
		"ec2:DescribeVpcEndpoints": true, "ec2:CreateVpcEndpoint": true, "ec2:DeleteVpcEndpoints": true,
		"ec2:CreateTags": true, "ec2:DeleteTags": true,
	}
	got := map[string]bool{}
	for _, s := range p.Statement {
		if s.Effect != "Allow" {
			t.Errorf("statement %s: Effect %q", s.Sid, s.Effect)
		}
		actions := stringOrList(t, s.Action)
		resources := stringOrList(t, s.Resource)
		for _, a := range actions {
			got[a] = true
			if strings.Contains(a, "*") {
				t.Errorf("statement %s: wildcard action %s", s.Sid, a)
			}
			if !want[a] {
				t.Errorf("statement %s: %s is more than the aws mode needs", s.Sid, a)
			}
			cond, _ := json.Marshal(s.Condition)
			switch a {
			case "ec2:CreateTags", "ec2:DeleteTags":
				if !strings.Contains(string(cond), "aws:TagKeys") {
					t.Errorf("statement %s: %s is not limited to callgate's tag keys", s.Sid, a)
				}
			case "ec2:DeleteVpcEndpoints":
				if !strings.Contains(string(cond), "aws:ResourceTag/callgate:managed-by") {
					t.Errorf("statement %s: DeleteVpcEndpoints is not limited to endpoints callgate created", s.Sid)
				}
			}
		}
		for _, r := range resources {
			if r == "*" && (len(actions) != 1 || actions[0] != "ec2:DescribeVpcEndpoints") {
				t.Errorf("statement %s: Resource * for %v; only DescribeVpcEndpoints lacks resource-level permissions", s.Sid, actions)
			}
		}
	}
	for a := range want {
		if !got[a] {
			t.Errorf("no statement allows %s", a)
		}
	}
	text := string(b)
	if !strings.Contains(text, `"ec2:CreateAction": "CreateVpcEndpoint"`) {
		t.Error("no CreateTags statement for tag-on-create (ec2:CreateAction = CreateVpcEndpoint)")
	}

	// Drift: the EC2 operations the AWS backend calls and the tag keys it
	// writes must be the ones the policy allows.
	if src, err := os.ReadFile(filepath.Join(repoRoot, "connstate", "aws", "metrics.go")); err == nil {
		block := regexp.MustCompile(`(?s)operations = \[\]string\{(.*?)\}`).FindSubmatch(src)
		if block == nil {
			t.Error("connstate/aws/metrics.go: no operations list to compare with")
		} else {
			for _, op := range regexp.MustCompile(`"([A-Za-z]+)"`).FindAllStringSubmatch(string(block[1]), -1) {
				if op[1] != "GetCallerIdentity" && !got["ec2:"+op[1]] {
					t.Errorf("the AWS backend calls %s, which the policy does not allow", op[1])
				}
			}
		}
	}
	if src, err := os.ReadFile(filepath.Join(repoRoot, "connstate", "backend.go")); err == nil {
		for _, c := range []string{"ReadySinceTag", "ConnectionTag", "ManagedByTag"} {
			m := regexp.MustCompile(c + `\s*=\s*"([^"]+)"`).FindStringSubmatch(string(src))
			if m == nil {
				t.Errorf("connstate/backend.go: no %s constant", c)
			} else if !strings.Contains(text, m[1]) {
				t.Errorf("the policy does not name tag key %s (connstate.%s)", m[1], c)
			}
		}
	}
}

func TestOperationsDoc(t *testing.T) {
	doc := readText(t, operationsFile)
	for name := range knownSeries() {
		if strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue
		}
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("operations.md does not describe %s", name)
		}
	}
	for _, g := range loadAlerts(t).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !strings.Contains(doc, "\n### "+r.Alert+"\n") {
				t.Errorf("operations.md has no section for alert %s", r.Alert)
			}
		}
	}
	for _, want := range []string{
		"iam-policy.json", "SIGHUP", "POST /-/reload", "SIGTERM", "shutdown.drain", "/readyz",
		"callgate whoami", "sts:GetCallerIdentity", "ConfigMap", "subPath", "callgate:ready-since",
		"check-config", "terminationGracePeriodSeconds",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("operations.md does not mention %s", want)
		}
	}
}
