package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// A key schema for callgate.yaml: the keys of docs/config.md, with the
// timeouts, limits, admin and shutdown blocks. Hard-coded here on
// purpose: the ConfigMap is checked against the contract, not against
// whatever the config package happens to accept today.
type (
	leaf    struct{}       // a scalar or a list of scalars
	obj     map[string]any // a mapping with exactly these keys
	listOf  obj            // a sequence of mappings with these keys
	anyKeys struct{}       // a mapping of free-form keys to scalars
)

var configSchema = obj{
	"listen": obj{"proxy": leaf{}, "admin": leaf{}},
	"warmup": leaf{},
	"sync":   obj{"interval": leaf{}},
	"aws": obj{
		"mode": leaf{}, "region": leaf{}, "endpoint_url": leaf{}, "vpc_id": leaf{},
		"subnet_ids": leaf{}, "security_group_ids": leaf{},
		"simulated": obj{
			"acceptance": leaf{},
			"delays":     obj{"allocating": leaf{}, "pending_acceptance": leaf{}, "pending": leaf{}, "deleting": leaf{}},
			"services":   anyKeys{},
		},
	},
	"resolve": anyKeys{},
	"tls": obj{
		"listeners": leaf{}, "cert_file": leaf{}, "key_file": leaf{},
		"acme": obj{"ca": leaf{}, "email": leaf{}, "domains": leaf{}, "ca_root_file": leaf{}},
	},
	"outbound_connections": listOf{
		"name": leaf{}, "description": leaf{}, "type": leaf{}, "service_name": leaf{},
		"region": leaf{}, "provision": leaf{}, "vpc_endpoint_id": leaf{},
	},
	"named_credentials": listOf{
		"name": leaf{}, "url": leaf{}, "outbound_network_connection": leaf{},
		"tls": obj{"ca_file": leaf{}, "client_cert_file": leaf{}, "client_key_file": leaf{}},
	},
	"timeouts": obj{
		"header_read": leaf{}, "dial": leaf{}, "tls_handshake": leaf{},
		"response_header": leaf{}, "idle_tunnel": leaf{}, "idle_conn": leaf{},
	},
	"limits":   obj{"max_header_bytes": leaf{}},
	"admin":    obj{"token_file": leaf{}},
	"shutdown": obj{"drain": leaf{}, "ready_delay": leaf{}},
}

// checkKeys walks node against schema and returns one message per key the
// schema does not have, or per value of the wrong shape, with its line.
func checkKeys(path string, node *yaml.Node, schema any) []string {
	if node.Kind == yaml.DocumentNode {
		return checkKeys(path, node.Content[0], schema)
	}
	where := func(msg string) string {
		return "line " + strconv.Itoa(node.Line) + ": " + path + ": " + msg
	}
	switch s := schema.(type) {
	case leaf:
		if node.Kind == yaml.MappingNode {
			return []string{where("a mapping where a value belongs")}
		}
		if node.Kind == yaml.SequenceNode {
			for _, c := range node.Content {
				if c.Kind != yaml.ScalarNode {
					return []string{where("a list of non-scalars")}
				}
			}
		}
		return nil
	case anyKeys:
		if node.Kind != yaml.MappingNode {
			return []string{where("not a mapping")}
		}
		for i := 1; i < len(node.Content); i += 2 {
			if node.Content[i].Kind != yaml.ScalarNode {
				return []string{where("a non-scalar value in a free-form mapping")}
			}
		}
		return nil
	case listOf:
		if node.Kind != yaml.SequenceNode {
			return []string{where("not a list")}
		}
		var out []string
		for i, c := range node.Content {
			out = append(out, checkKeys(path+"["+strconv.Itoa(i)+"]", c, obj(s))...)
		}
		return out
	case obj:
		if node.Kind != yaml.MappingNode {
			return []string{where("not a mapping")}
		}
		var out []string
		for i := 0; i+1 < len(node.Content); i += 2 {
			k := node.Content[i].Value
			sub, ok := s[k]
			p := strings.TrimPrefix(path+"."+k, ".")
			if !ok {
				out = append(out, "line "+strconv.Itoa(node.Content[i].Line)+": unknown key "+p)
				continue
			}
			out = append(out, checkKeys(p, node.Content[i+1], sub)...)
		}
		return out
	}
	return []string{path + ": bad schema"}
}

// embeddedConfig is the part of the ConfigMap's callgate.yaml the other
// tests read (decoded loosely, after checkKeys vetted every key).
type embeddedConfig struct {
	Listen struct {
		Proxy string `yaml:"proxy"`
		Admin string `yaml:"admin"`
	} `yaml:"listen"`
	AWS struct {
		Mode             string   `yaml:"mode"`
		Region           string   `yaml:"region"`
		VpcID            string   `yaml:"vpc_id"`
		SubnetIDs        []string `yaml:"subnet_ids"`
		SecurityGroupIDs []string `yaml:"security_group_ids"`
	} `yaml:"aws"`
	Admin struct {
		TokenFile string `yaml:"token_file"`
	} `yaml:"admin"`
	Shutdown struct {
		Drain      string `yaml:"drain"`
		ReadyDelay string `yaml:"ready_delay"`
	} `yaml:"shutdown"`
	OutboundConnections []struct {
		Name        string `yaml:"name"`
		Type        string `yaml:"type"`
		ServiceName string `yaml:"service_name"`
	} `yaml:"outbound_connections"`
	NamedCredentials []struct {
		Name       string `yaml:"name"`
		URL        string `yaml:"url"`
		Connection string `yaml:"outbound_network_connection"`
	} `yaml:"named_credentials"`
	raw string
}

// drain is the longest a graceful shutdown takes before tunnels are cut:
// shutdown.ready_delay (the /readyz 503 lead) plus shutdown.drain (30s
// when absent, the documented default).
func (c *embeddedConfig) drain(t *testing.T) time.Duration {
	t.Helper()
	total := 30 * time.Second
	if c.Shutdown.Drain != "" {
		d, err := time.ParseDuration(c.Shutdown.Drain)
		if err != nil {
			t.Fatalf("shutdown.drain %q: %v", c.Shutdown.Drain, err)
		}
		total = d
	}
	if c.Shutdown.ReadyDelay != "" {
		d, err := time.ParseDuration(c.Shutdown.ReadyDelay)
		if err != nil {
			t.Fatalf("shutdown.ready_delay %q: %v", c.Shutdown.ReadyDelay, err)
		}
		total += d
	}
	return total
}

func loadEmbeddedConfig(t *testing.T, m *manifests) *embeddedConfig {
	t.Helper()
	raw, ok := m.configMap.Data["callgate.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no callgate.yaml", m.configMap.Metadata.Name)
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &node); err != nil {
		t.Fatalf("ConfigMap callgate.yaml: %v", err)
	}
	if bad := checkKeys("", &node, configSchema); len(bad) > 0 {
		t.Fatalf("ConfigMap callgate.yaml uses keys outside the schema (docs/config.md):\n%s", strings.Join(bad, "\n"))
	}
	c := &embeddedConfig{raw: raw}
	if err := node.Decode(c); err != nil {
		t.Fatalf("ConfigMap callgate.yaml: %v", err)
	}
	return c
}

func TestCheckKeysFlagsUnknownKeys(t *testing.T) {
	tests := []struct {
		name, yaml string
		bad        int
	}{
		{"spec keys", "listen: {proxy: 0.0.0.0:3128}\nwarmup: 5m\nresolve: {a.example: 127.0.0.1}\n", 0},
		{"list of objects", "outbound_connections:\n  - {name: a, provision: true}\n", 0},
		{"extra blocks", "shutdown: {drain: 30s}\nadmin: {token_file: /t}\nlimits: {max_header_bytes: 1}\n", 0},
		{"top-level typo", "listne: {proxy: x}\n", 1},
		{"nested typo", "aws: {mdoe: aws}\n", 1},
		{"typo in a list element", "named_credentials:\n  - {name: a, ulr: x}\n", 1},
		{"mapping where a value belongs", "warmup: {a: b}\n", 1},
		{"scalar where a list belongs", "outbound_connections: a\n", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
				t.Fatal(err)
			}
			if got := checkKeys("", &n, configSchema); len(got) != tc.bad {
				t.Errorf("checkKeys = %v, want %d problems", got, tc.bad)
			}
		})
	}
}

func TestConfigMapConfig(t *testing.T) {
	m := loadManifests(t)
	c := loadEmbeddedConfig(t, m)
	if c.AWS.Mode != "aws" {
		t.Errorf("aws.mode = %q, want aws (the Kubernetes deployment runs against AWS)", c.AWS.Mode)
	}
	if c.AWS.Region == "" || c.AWS.VpcID == "" || len(c.AWS.SubnetIDs) == 0 || len(c.AWS.SecurityGroupIDs) == 0 {
		t.Errorf("aws mode needs region, vpc_id, subnet_ids and security_group_ids: %+v", c.AWS)
	}
	for _, addr := range []string{c.Listen.Proxy, c.Listen.Admin} {
		if !strings.HasPrefix(addr, "0.0.0.0:") {
			t.Errorf("listen address %q: in a pod it must be 0.0.0.0 to be reachable by the Service and the probes", addr)
		}
	}
	if c.Admin.TokenFile == "" {
		t.Error("admin.token_file is empty: with the admin port open to the pod network the POST routes need a token")
	}
	conns := map[string]bool{}
	for _, oc := range c.OutboundConnections {
		conns[oc.Name] = true
		if oc.Type != "AwsPrivateLink" || !strings.HasPrefix(oc.ServiceName, "com.amazonaws.vpce.") {
			t.Errorf("outbound connection %q: type %q, service_name %q", oc.Name, oc.Type, oc.ServiceName)
		}
	}
	if len(c.NamedCredentials) == 0 {
		t.Error("no named credentials")
	}
	for _, nc := range c.NamedCredentials {
		if !conns[nc.Connection] {
			t.Errorf("named credential %q names connection %q, which is not configured", nc.Name, nc.Connection)
		}
	}
}

// TestConfigMapPassesCheckConfig runs the real `callgate check-config` on
// the ConfigMap's file, so the sample cannot drift from what callgate
// accepts. It builds callgate; while the tree does not build (packages
// still being written) it skips rather than fail for another package.
func TestConfigMapPassesCheckConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds callgate")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	m := loadManifests(t)
	c := loadEmbeddedConfig(t, m)
	dir := t.TempDir()
	bin := filepath.Join(dir, "callgate")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, gobin, "build", "-o", bin, "./cmd/callgate")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("callgate does not build yet, so check-config cannot run: %v\n%s", err, out)
	}
	// Files the config names (admin.token_file, …) are mounted from Secrets
	// in the pod; here each gets a stand-in so check-config can stat it.
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(c.raw), &node); err != nil {
		t.Fatal(err)
	}
	n := 0
	pointFilesAt(&node, func(key string) string {
		n++
		f := filepath.Join(dir, "stand-in-"+strconv.Itoa(n)+"-"+key)
		if err := os.WriteFile(f, []byte("stand-in\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	})
	rewritten, err := yaml.Marshal(&node)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "callgate.yaml")
	if err := os.WriteFile(file, rewritten, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "check-config", file).CombinedOutput()
	if err != nil {
		t.Fatalf("callgate check-config on the ConfigMap's callgate.yaml: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// pointFilesAt replaces the value of every non-empty *_file key in node
// with newPath(key).
func pointFilesAt(node *yaml.Node, newPath func(key string) string) {
	if node.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			if strings.HasSuffix(k.Value, "_file") && v.Kind == yaml.ScalarNode && v.Value != "" {
				v.Value = newPath(k.Value)
				continue
			}
			pointFilesAt(v, newPath)
		}
		return
	}
	for _, c := range node.Content {
		pointFilesAt(c, newPath)
	}
}
