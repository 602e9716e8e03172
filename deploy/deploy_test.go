// Package deploy_test validates the packaging and operations artefacts
// (Dockerfile, Kubernetes manifests, Prometheus rules and scrape config,
// Grafana dashboard, IAM policy, docs) against each other and against what
// callgate defines and documents: config keys, admin API, refusal codes and
// metric names. Nothing here needs a cluster, Docker or AWS; promtool and
// kubectl are used when they are on PATH.
package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Paths relative to this package's directory (go test runs in it).
const (
	repoRoot         = ".."
	deployDir        = "."
	kubeDir          = "kubernetes"
	alertsFile       = "prometheus/alerts.yaml"
	scrapeFile       = "prometheus/scrape.yaml"
	dashboardFile    = "grafana/callgate.json"
	dockerfile       = "../Dockerfile"
	dockerignoreFile = "../.dockerignore"
	iamPolicyFile    = "../docs/iam-policy.json"
	operationsFile   = "../docs/operations.md"
)

// specMetrics are the core metric names (without the callgate_ prefix)
// and whether each is a histogram (and so has _bucket/_sum/_count series).
var specMetrics = map[string]bool{
	"requests_total":                               false,
	"request_duration_seconds":                     true,
	"tunnels_active":                               false,
	"tunnel_bytes_total":                           false,
	"refusals_total":                               false,
	"connection_status":                            false,
	"connection_warm":                              false,
	"sync_duration_seconds":                        true,
	"aws_api_calls_total":                          false,
	"config_reloads_total":                         false,
	"config_last_reload_success_timestamp_seconds": false,
	"build_info":                                   false,
}

// extraMetrics are callgate series beyond the core ones that the code exports
// (blackbox_exporter-style reload gauge, sync error counter, config hash,
// admin token file state).
var extraMetrics = []string{
	"config_last_reload_successful",
	"sync_errors_total",
	"config_hash_info",
	"admin_token_valid",
	"proxy_auth_failures_total",
	"upstream_cert_expiry_timestamp_seconds",
	"upstream_cert_valid",
	"upstream_probe_success",
	"upstream_probe_duration_seconds",
}

// knownSeries is every callgate_ series name an artefact may reference.
func knownSeries() map[string]bool {
	out := map[string]bool{}
	for name, hist := range specMetrics {
		out["callgate_"+name] = true
		if hist {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out["callgate_"+name+s] = true
			}
		}
	}
	for _, name := range extraMetrics {
		out["callgate_"+name] = true
	}
	return out
}

var metricRef = regexp.MustCompile(`\bcallgate_[a-zA-Z0-9_]+`)

// unknownMetrics returns the callgate_ names in text that are not known series.
func unknownMetrics(text string) []string {
	known := knownSeries()
	seen := map[string]bool{}
	var bad []string
	for _, m := range metricRef.FindAllString(text, -1) {
		if !known[m] && !seen[m] {
			seen[m] = true
			bad = append(bad, m)
		}
	}
	sort.Strings(bad)
	return bad
}

// yamlFiles lists every .yaml/.yml file under deploy/.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(deployDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", deployDir, err)
	}
	sort.Strings(files)
	return files
}

// decodeAll decodes every document of a (multi-document) YAML file into
// nodes; it fails the test on a syntax error.
func decodeAll(t *testing.T, path string) []*yaml.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for i := 0; i < 1000; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, i+1, err)
		}
		docs = append(docs, &n)
	}
	t.Fatalf("%s: more than 1000 documents", path)
	return nil
}

// decodeFile strictly decodes a single-document YAML file into v: a key
// that v does not know is an error, so a typo in an artefact shows.
func decodeFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func TestEveryYAMLFileParses(t *testing.T) {
	files := yamlFiles(t)
	if len(files) < 8 {
		t.Fatalf("found %d YAML files under deploy/, want the manifests, rules and scrape config: %v", len(files), files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			docs := decodeAll(t, f)
			if len(docs) == 0 {
				t.Fatalf("%s has no YAML document", f)
			}
			for i, d := range docs {
				if len(d.Content) == 0 || d.Content[0].Kind != yaml.MappingNode {
					t.Errorf("%s: document %d is not a mapping", f, i+1)
				}
			}
		})
	}
}

func TestArtefactsReferenceOnlySpecMetrics(t *testing.T) {
	for _, f := range []string{alertsFile, dashboardFile, scrapeFile, operationsFile} {
		t.Run(f, func(t *testing.T) {
			if bad := unknownMetrics(readText(t, f)); len(bad) > 0 {
				t.Errorf("%s names metrics callgate does not export (docs/operations.md, Metrics): %v", f, bad)
			}
		})
	}
}

// TestUnknownMetricsDetects keeps the metric check honest: it must flag a
// misspelt name and pass the real ones.
func TestUnknownMetricsDetects(t *testing.T) {
	tests := []struct {
		text string
		bad  []string
	}{
		{`rate(callgate_requests_total[5m])`, nil},
		{`histogram_quantile(0.9, callgate_request_duration_seconds_bucket)`, nil},
		{`callgate_sync_duration_seconds_count + callgate_config_hash_info`, nil},
		{`rate(callgate_request_total[5m])`, []string{"callgate_request_total"}},
		{`callgate_tunnels_active_bucket`, []string{"callgate_tunnels_active_bucket"}},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got := unknownMetrics(tc.text)
			if strings.Join(got, ",") != strings.Join(tc.bad, ",") {
				t.Errorf("unknownMetrics(%q) = %v, want %v", tc.text, got, tc.bad)
			}
		})
	}
}
