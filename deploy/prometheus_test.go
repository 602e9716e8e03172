package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// ruleFile is the Prometheus rule file format, decoded strictly.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval,omitempty"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert         string            `yaml:"alert,omitempty"`
	Record        string            `yaml:"record,omitempty"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for,omitempty"`
	KeepFiringFor string            `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty"`
	Annotations   map[string]string `yaml:"annotations,omitempty"`
}

func loadAlerts(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	decodeFile(t, alertsFile, &rf)
	return rf
}

// promDuration is Prometheus's duration syntax (units ms s m h d w y).
var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

func TestAlertRulesAreComplete(t *testing.T) {
	rf := loadAlerts(t)
	if len(rf.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	seen := map[string]bool{}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q is unnamed or empty", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a rule that is not an alert (record %q)", g.Name, r.Record)
				continue
			}
			t.Run(r.Alert, func(t *testing.T) {
				if seen[r.Alert] {
					t.Errorf("alert %s defined twice", r.Alert)
				}
				seen[r.Alert] = true
				if !strings.HasPrefix(r.Alert, "Callgate") {
					t.Errorf("alert name %s does not start with Callgate", r.Alert)
				}
				if strings.TrimSpace(r.Expr) == "" {
					t.Error("no expr")
				}
				if !promDuration.MatchString(r.For) {
					t.Errorf("for = %q, want a Prometheus duration", r.For)
				}
				switch r.Labels["severity"] {
				case "critical", "warning", "info":
				default:
					t.Errorf("labels.severity = %q, want critical, warning or info", r.Labels["severity"])
				}
				for _, a := range []string{"summary", "description", "runbook"} {
					if strings.TrimSpace(r.Annotations[a]) == "" {
						t.Errorf("annotations.%s is empty", a)
					}
				}
			})
		}
	}
}

// TestAlertsCoverTheIssue checks the alerts issue 4 asks for exist, found
// by what their expressions watch.
func TestAlertsCoverTheIssue(t *testing.T) {
	rf := loadAlerts(t)
	var exprs []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	want := []struct{ what, substr string }{
		{"connection not Ready", `callgate_connection_status{status="Ready"} == 0`},
		{"connection warming too long", `callgate_connection_warm`},
		{"reload failing (gauge)", `callgate_config_last_reload_successful`},
		{"reload failing (counter)", `callgate_config_reloads_total{result="failure"}`},
		{"refusal rate", `rate(callgate_refusals_total`},
		{"AWS API errors", `callgate_aws_api_calls_total{outcome!="success"}`},
		{"sync errors", `callgate_sync_errors_total`},
		{"no replica up", `up{job="callgate"}`},
	}
	all := strings.Join(exprs, "\n")
	for _, w := range want {
		if !strings.Contains(all, w.substr) {
			t.Errorf("no alert for %s (no expr contains %s)", w.what, w.substr)
		}
	}
}

// The scrape job's name is what the availability alerts select on.
func TestScrapeConfig(t *testing.T) {
	var sc struct {
		ScrapeConfigs []struct {
			JobName             string `yaml:"job_name"`
			ScrapeInterval      string `yaml:"scrape_interval"`
			ScrapeTimeout       string `yaml:"scrape_timeout"`
			KubernetesSDConfigs []struct {
				Role string `yaml:"role"`
			} `yaml:"kubernetes_sd_configs"`
			RelabelConfigs []struct {
				SourceLabels []string `yaml:"source_labels"`
				Action       string   `yaml:"action"`
				Regex        string   `yaml:"regex"`
				Replacement  string   `yaml:"replacement"`
				TargetLabel  string   `yaml:"target_label"`
			} `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	decodeFile(t, scrapeFile, &sc)
	if len(sc.ScrapeConfigs) != 1 {
		t.Fatalf("%d scrape configs, want 1", len(sc.ScrapeConfigs))
	}
	job := sc.ScrapeConfigs[0]
	if job.JobName != "callgate" {
		t.Errorf("job_name = %q; the alerts select up{job=\"callgate\"}", job.JobName)
	}
	if len(job.KubernetesSDConfigs) != 1 || job.KubernetesSDConfigs[0].Role != "pod" {
		t.Errorf("kubernetes_sd_configs = %+v, want one with role pod", job.KubernetesSDConfigs)
	}
	keeps := map[string]string{}
	targets := map[string]bool{}
	for _, rc := range job.RelabelConfigs {
		if rc.Action == "keep" {
			keeps[strings.Join(rc.SourceLabels, ";")] = rc.Regex
		}
		targets[rc.TargetLabel] = true
		if rc.Regex != "" {
			if _, err := regexp.Compile(rc.Regex); err != nil {
				t.Errorf("relabel regex %q: %v", rc.Regex, err)
			}
		}
	}
	if keeps["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] != `"true"` &&
		keeps["__meta_kubernetes_pod_annotation_prometheus_io_scrape"] != "true" {
		t.Errorf("no keep on the prometheus.io/scrape annotation: %v", keeps)
	}
	for _, l := range []string{"__address__", "__metrics_path__", "namespace", "pod"} {
		if !targets[l] {
			t.Errorf("no relabel sets %s", l)
		}
	}
}

// promtool returns promtool's path or skips.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (Debian: apt-get install prometheus); the structural checks above still ran")
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestPromtoolCheckRules runs the check alerts.yaml's header and
// docs/operations.md give, from the repository root.
func TestPromtoolCheckRules(t *testing.T) {
	runPromtool(t, repoRoot, "check", "rules", "deploy/prometheus/alerts.yaml")
}

// alertTestsFile is run as people type it, from the repository root.
const alertTestsFile = "deploy/prometheus/testdata/alerts_test.yaml"

// TestAlertTestsFindTheirRules: promtool reads rule_files relative to the
// test file, so every entry must name a file from there, and together they
// must include the real alerts.yaml (not a copy that could drift).
func TestAlertTestsFindTheirRules(t *testing.T) {
	var tf struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	path := filepath.Join(repoRoot, alertTestsFile)
	if err := yaml.Unmarshal([]byte(readText(t, path)), &tf); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.Abs(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rf := range tf.RuleFiles {
		p, err := filepath.Abs(filepath.Join(filepath.Dir(path), rf))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("rule_files entry %s: %v (promtool resolves it from %s)", rf, err, filepath.Dir(alertTestsFile))
		}
		found = found || p == real
	}
	if !found {
		t.Errorf("rule_files %v does not include %s", tf.RuleFiles, alertsFile)
	}
}

// TestPromtoolAlertUnitTests runs the alert unit tests exactly as
// docs/operations.md tells people to: `promtool test rules
// deploy/prometheus/testdata/alerts_test.yaml` from the repository root,
// against deploy/prometheus/alerts.yaml as it is.
func TestPromtoolAlertUnitTests(t *testing.T) {
	runPromtool(t, repoRoot, "test", "rules", alertTestsFile)
}

// grafanaVar matches the dashboard's template variables in a query.
var grafanaVar = regexp.MustCompile(`\$(__rate_interval|__interval|__range|\{?[a-z_]+\}?)`)

// TestPromtoolDashboardQueries parses every dashboard query as PromQL by
// turning each into a recording rule that promtool checks (variables
// replaced by what Grafana would put there).
func TestPromtoolDashboardQueries(t *testing.T) {
	promtool(t)
	exprs := dashboardExprs(t, loadDashboard(t))
	if len(exprs) == 0 {
		t.Fatal("no dashboard queries")
	}
	var rf ruleFile
	rf.Groups = append(rf.Groups, struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval,omitempty"`
		Rules    []rule `yaml:"rules"`
	}{Name: "dashboard"})
	for i, e := range exprs {
		q := grafanaVar.ReplaceAllStringFunc(e, func(v string) string {
			switch v {
			case "$__rate_interval", "$__interval", "$__range":
				return "5m"
			}
			return ".*"
		})
		rf.Groups[0].Rules = append(rf.Groups[0].Rules, rule{Record: "dashboard:query_" + strconv.Itoa(i), Expr: q})
	}
	dir := t.TempDir()
	b, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dashboard-rules.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, "check", "rules", "dashboard-rules.yaml")
}
