package deploy_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The Kubernetes shapes the tests read; anything else in a manifest is
// ignored (decoded loosely: these are Kubernetes's schemas, not ours).
type (
	meta struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	object struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   meta   `yaml:"metadata"`
	}
	httpGet struct {
		Path string    `yaml:"path"`
		Port yaml.Node `yaml:"port"`
	}
	probe struct {
		HTTPGet             *httpGet `yaml:"httpGet"`
		PeriodSeconds       int      `yaml:"periodSeconds"`
		InitialDelaySeconds int      `yaml:"initialDelaySeconds"`
	}
	securityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	}
	container struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		ReadinessProbe  *probe          `yaml:"readinessProbe"`
		LivenessProbe   *probe          `yaml:"livenessProbe"`
		SecurityContext securityContext `yaml:"securityContext"`
		Resources       struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			SubPath   string `yaml:"subPath"`
		} `yaml:"volumeMounts"`
	}
	podSpec struct {
		ServiceAccountName            string          `yaml:"serviceAccountName"`
		TerminationGracePeriodSeconds *int            `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               securityContext `yaml:"securityContext"`
		Affinity                      struct {
			PodAntiAffinity *struct {
				Required  []any `yaml:"requiredDuringSchedulingIgnoredDuringExecution"`
				Preferred []any `yaml:"preferredDuringSchedulingIgnoredDuringExecution"`
			} `yaml:"podAntiAffinity"`
		} `yaml:"affinity"`
		Containers []container `yaml:"containers"`
		Volumes    []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name string `yaml:"name"`
			} `yaml:"configMap"`
		} `yaml:"volumes"`
	}
	deployment struct {
		object `yaml:",inline"`
		Spec   struct {
			Replicas *int `yaml:"replicas"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template struct {
				Metadata meta    `yaml:"metadata"`
				Spec     podSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	service struct {
		object `yaml:",inline"`
		Spec   struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string    `yaml:"name"`
				Port       int       `yaml:"port"`
				TargetPort yaml.Node `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	pdb struct {
		object `yaml:",inline"`
		Spec   struct {
			MinAvailable *int `yaml:"minAvailable"`
			Selector     struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
	configMap struct {
		object `yaml:",inline"`
		Data   map[string]string `yaml:"data"`
	}
	kustomization struct {
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name    string `yaml:"name"`
			NewName string `yaml:"newName"`
			NewTag  string `yaml:"newTag"`
		} `yaml:"images"`
	}
)

// manifests holds the decoded objects of deploy/kubernetes.
type manifests struct {
	deployment    deployment
	service       service
	pdb           pdb
	configMap     configMap
	serviceAcct   object
	files         map[string]string // kind → file
	kustomization kustomization
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{files: map[string]string{}}
	entries, err := os.ReadDir(kubeDir)
	if err != nil {
		t.Fatalf("read %s: %v", kubeDir, err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		file := filepath.Join(kubeDir, e.Name())
		if e.Name() == "kustomization.yaml" {
			if err := decodeAll(t, file)[0].Decode(&m.kustomization); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			continue
		}
		for _, doc := range decodeAll(t, file) {
			var obj object
			if err := doc.Decode(&obj); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if obj.APIVersion == "" || obj.Kind == "" || obj.Metadata.Name == "" {
				t.Errorf("%s: a document lacks apiVersion, kind or metadata.name", file)
			}
			if obj.Metadata.Namespace != "" {
				t.Errorf("%s: %s %s sets a namespace; the manifests are namespace-agnostic", file, obj.Kind, obj.Metadata.Name)
			}
			if prev, dup := m.files[obj.Kind]; dup {
				t.Errorf("%s: a second %s (first in %s)", file, obj.Kind, prev)
			}
			m.files[obj.Kind] = file
			var target any
			switch obj.Kind {
			case "Deployment":
				target = &m.deployment
			case "Service":
				target = &m.service
			case "PodDisruptionBudget":
				target = &m.pdb
			case "ConfigMap":
				target = &m.configMap
			case "ServiceAccount":
				target = &m.serviceAcct
			default:
				t.Errorf("%s: unexpected kind %s", file, obj.Kind)
				continue
			}
			if err := doc.Decode(target); err != nil {
				t.Fatalf("%s: decode %s: %v", file, obj.Kind, err)
			}
		}
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "ServiceAccount"} {
		if m.files[kind] == "" {
			t.Errorf("deploy/kubernetes has no %s", kind)
		}
	}
	return m
}

func (m *manifests) container(t *testing.T) container {
	t.Helper()
	cs := m.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("Deployment has %d containers, want 1 (callgate)", len(cs))
	}
	return cs[0]
}

// portNumber resolves a probe or Service port (a number or a port name).
func portNumber(t *testing.T, c container, n yaml.Node) int {
	t.Helper()
	if p, err := strconv.Atoi(n.Value); err == nil {
		return p
	}
	for _, p := range c.Ports {
		if p.Name == n.Value {
			return p.ContainerPort
		}
	}
	t.Fatalf("port %q is neither a number nor a container port name", n.Value)
	return 0
}

func isTrue(b *bool) bool { return b != nil && *b }

// intp prints an optional integer field.
func intp(p *int) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(*p)
}

func TestDeployment(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	c := m.container(t)
	pod := d.Spec.Template.Spec
	cfg := loadEmbeddedConfig(t, m)

	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas = %s, want ≥ 2", intp(d.Spec.Replicas))
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template's labels", k, v)
		}
	}

	adminPort := listenPort(t, cfg.Listen.Admin)
	proxyPort := listenPort(t, cfg.Listen.Proxy)
	probes := []struct {
		name string
		p    *probe
		path string
	}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}}
	for _, pr := range probes {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("%s: missing or not httpGet", pr.name)
			continue
		}
		if pr.p.HTTPGet.Path != pr.path {
			t.Errorf("%s path = %q, want %q", pr.name, pr.p.HTTPGet.Path, pr.path)
		}
		if got := portNumber(t, c, pr.p.HTTPGet.Port); got != adminPort {
			t.Errorf("%s port = %d, want the admin port %d (listen.admin)", pr.name, got, adminPort)
		}
	}
	ports := map[int]bool{}
	for _, p := range c.Ports {
		ports[p.ContainerPort] = true
	}
	if !ports[adminPort] || !ports[proxyPort] {
		t.Errorf("container ports %v do not include listen.proxy %d and listen.admin %d", c.Ports, proxyPort, adminPort)
	}

	// Non-root, read-only, no privilege escalation.
	if !isTrue(pod.SecurityContext.RunAsNonRoot) && !isTrue(c.SecurityContext.RunAsNonRoot) {
		t.Error("runAsNonRoot is not set")
	}
	for _, u := range []*int{pod.SecurityContext.RunAsUser, c.SecurityContext.RunAsUser} {
		if u != nil && *u == 0 {
			t.Error("runAsUser is 0 (root)")
		}
	}
	if !isTrue(c.SecurityContext.ReadOnlyRootFilesystem) {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if strings.Join(c.SecurityContext.Capabilities.Drop, ",") != "ALL" {
		t.Errorf("capabilities.drop = %v, want [ALL]", c.SecurityContext.Capabilities.Drop)
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("resources = %+v, want cpu and memory requests and a memory limit", c.Resources)
	}
	if a := pod.Affinity.PodAntiAffinity; a == nil || len(a.Required)+len(a.Preferred) == 0 {
		t.Error("no pod anti-affinity: replicas may land on one node")
	}

	// The SIGKILL must not come before callgate's own drain.
	drain := cfg.drain(t)
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= drain {
		t.Errorf("terminationGracePeriodSeconds = %s, want more than shutdown.ready_delay + shutdown.drain = %v", intp(g), drain)
	}

	// The config: the ConfigMap mounted as a directory (no subPath, so the
	// ..data symlink swap reaches the file watch) at the --config path.
	cfgPath := flagValue(c.Args, "--config")
	if cfgPath == "" {
		t.Fatalf("container args %v have no --config", c.Args)
	}
	cmVolume := ""
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == m.configMap.Metadata.Name {
			cmVolume = v.Name
		}
	}
	if cmVolume == "" {
		t.Fatalf("no volume from ConfigMap %q", m.configMap.Metadata.Name)
	}
	mounted := false
	for _, vm := range c.VolumeMounts {
		if vm.Name != cmVolume {
			continue
		}
		mounted = true
		if vm.SubPath != "" {
			t.Errorf("the config volume is mounted with subPath %q: a subPath mount never sees ConfigMap updates", vm.SubPath)
		}
		if path.Join(vm.MountPath, path.Base(cfgPath)) != cfgPath {
			t.Errorf("--config %s is not a file in the config mount %s", cfgPath, vm.MountPath)
		}
		if _, ok := m.configMap.Data[path.Base(cfgPath)]; !ok {
			t.Errorf("ConfigMap has no key %q for --config %s", path.Base(cfgPath), cfgPath)
		}
	}
	if !mounted {
		t.Errorf("the config volume %q is not mounted", cmVolume)
	}

	// Prometheus annotations point at the admin listener.
	ann := d.Spec.Template.Metadata.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" ||
		ann["prometheus.io/port"] != strconv.Itoa(adminPort) {
		t.Errorf("pod annotations %v do not ask Prometheus to scrape %d/metrics", ann, adminPort)
	}

	if pod.ServiceAccountName != m.serviceAcct.Metadata.Name {
		t.Errorf("serviceAccountName = %q, want the manifest's ServiceAccount %q", pod.ServiceAccountName, m.serviceAcct.Metadata.Name)
	}
}

func TestServiceAndPDB(t *testing.T) {
	m := loadManifests(t)
	c := m.container(t)
	podLabels := m.deployment.Spec.Template.Metadata.Labels
	cfg := loadEmbeddedConfig(t, m)

	if len(m.service.Spec.Selector) == 0 {
		t.Error("Service has no selector")
	}
	for k, v := range m.service.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("Service selector %s=%s does not select the callgate pods", k, v)
		}
	}
	proxy := listenPort(t, cfg.Listen.Proxy)
	found := false
	for _, p := range m.service.Spec.Ports {
		if p.Port == 3128 && portNumber(t, c, p.TargetPort) == proxy {
			found = true
		}
	}
	if !found {
		t.Errorf("Service does not expose port 3128 to the proxy listener %d", proxy)
	}

	if m.pdb.Spec.MinAvailable == nil || *m.pdb.Spec.MinAvailable != 1 {
		t.Errorf("PodDisruptionBudget minAvailable = %s, want 1", intp(m.pdb.Spec.MinAvailable))
	}
	for k, v := range m.pdb.Spec.Selector.MatchLabels {
		if podLabels[k] != v {
			t.Errorf("PodDisruptionBudget selector %s=%s does not select the callgate pods", k, v)
		}
	}

	if m.serviceAcct.Metadata.Annotations["eks.amazonaws.com/role-arn"] == "" {
		t.Error("ServiceAccount has no eks.amazonaws.com/role-arn (IRSA) annotation")
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	m := loadManifests(t)
	listed := map[string]bool{}
	for _, r := range m.kustomization.Resources {
		listed[r] = true
		if _, err := os.Stat(filepath.Join(kubeDir, r)); err != nil {
			t.Errorf("kustomization resource %s: %v", r, err)
		}
	}
	for kind, file := range m.files {
		if !listed[filepath.Base(file)] {
			t.Errorf("%s (%s) is not in kustomization.yaml's resources", file, kind)
		}
	}
	image := m.container(t).Image
	set := false
	for _, im := range m.kustomization.Images {
		set = set || (im.Name == image && im.NewName != "")
	}
	if !set {
		t.Errorf("kustomization.yaml's images do not set the container image %q", image)
	}
}

// TestKustomizeBuilds renders the kustomization with kubectl where it is
// installed; kustomize catches what the loose decoding above does not
// (bad transformer config, duplicate resources).
func TestKustomizeBuilds(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, kubectl, "kustomize", kubeDir).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", kubeDir, err, out)
	}
	for _, want := range []string{"kind: Deployment", "kind: Service", "kind: PodDisruptionBudget", "kind: ConfigMap", "kind: ServiceAccount"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("kustomize output lacks %q", want)
		}
	}
	if strings.Contains(string(out), "image: callgate\n") {
		t.Error("kustomize left the image unset: images: in kustomization.yaml does not match the container")
	}
}

func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func listenPort(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return p
}
