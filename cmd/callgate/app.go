package main

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	sdkconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/config"
	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
	"github.com/callgate/callgate/credauth"
	"github.com/callgate/callgate/probe"
	"github.com/callgate/callgate/proxy"
	"github.com/callgate/callgate/routing"
)

// app is one running callgate: the control loop, the proxy and the admin
// API, wired to one config that reloads replace as a whole.
type app struct {
	log     *zap.Logger
	reg     *prometheus.Registry
	metrics *appMetrics

	path    string // config file; "" for the embedded default (no reload)
	cfg     atomic.Pointer[config.Config]
	tried   atomic.Value // hash of the file content last tried, so a watch does not retry a bad file
	backend connstate.Backend
	sim     *simulated.Backend // nil unless aws.mode is simulated
	manager *connstate.Manager
	proxy   *proxy.Server
	probe   *probe.Prober
	tokens  *tokenDialer // opens OAuth 2.0 token request connections
	// proxyMetrics holds the proxy's metrics alone, for the request and
	// refusal counts of GET /v1/named-credentials.
	proxyMetrics *prometheus.Registry

	mu        sync.Mutex // guards injectors; held only by the reload goroutine and Close
	injectors map[string]*injector

	// boot is the config the process started on (listeners, backend);
	// only the reload goroutine writes it, once.
	boot           *config.Config
	restartPending atomic.Pointer[[]string] // keys changed since boot that need a restart
	shuttingDown   atomic.Bool
	reloader       *reloader
}

// newApp builds everything from cfg without opening listeners.
func newApp(ctx context.Context, cfg *config.Config, path string, log *zap.Logger, reg *prometheus.Registry) (*app, error) {
	a := &app{log: log, reg: reg, path: path, metrics: newAppMetrics(reg), proxyMetrics: prometheus.NewRegistry()}
	backend, sim, err := newBackend(ctx, cfg, log, reg)
	if err != nil {
		return nil, err
	}
	a.backend, a.sim = backend, sim
	a.manager = connstate.NewManager(backend, connstate.Options{
		Warmup:       cfg.Warmup,
		SyncInterval: cfg.Sync.Interval,
		Logger:       log.Named("connstate"),
		Metrics:      connstate.NewMetrics(reg),
	})
	var dialer proxy.Dialer
	if sim != nil {
		dialer = simulatedDialer{sim: sim, next: &net.Dialer{}}
	}
	a.proxy, err = proxy.New(proxy.Options{
		Gate:                   a.manager,
		Dial:                   dialer,
		Timeouts:               proxy.Timeouts(cfg.Timeouts), // same fields: a change to either fails to compile here
		MaxHeaderBytes:         cfg.Limits.MaxHeaderBytes,
		MaxResponseHeaderBytes: cfg.Limits.MaxResponseHeaderBytes,
		Engine:                 proxyEngine(cfg.Engine),
		SelfNames:              cfg.Listen.Names,
		Logger:                 log.Named("proxy"),
		Metrics:                proxy.NewMetrics(teeRegisterer{reg, a.proxyMetrics}),
	})
	if err != nil {
		return nil, err
	}
	a.probe = newProber(a, reg, log.Named("probe"))
	a.tokens = newTokenDialer(a.proxy, a.manager)
	a.reloader = newReloader(a.reloadFromFile)
	if err := a.apply(cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// reloadFromFile is the one reload path: load → validate → compile → swap.
func (a *app) reloadFromFile() error {
	if a.shuttingDown.Load() {
		return errShuttingDown
	}
	if a.path == "" {
		return errors.New("callgate runs on its embedded default config: there is no file to reload")
	}
	if h, err := fileHash(a.path); err == nil {
		a.tried.Store(h)
	}
	cfg, err := config.Load(a.path)
	if err == nil {
		err = a.apply(cfg)
	}
	if err != nil {
		a.metrics.reloads.WithLabelValues("failure").Inc()
		a.metrics.lastReloadOK.Set(0)
		a.log.Error("config reload failed; the previous config keeps serving", zap.String("file", a.path), zap.Error(err))
		return err
	}
	a.log.Info("config reloaded", zap.String("file", a.path), zap.String("hash", cfg.Hash))
	return nil
}

// lastTried is the hash of the file content last loaded or tried.
func (a *app) lastTried() string {
	s, _ := a.tried.Load().(string)
	return s
}

// apply validates cfg against the running state and swaps it in whole, or
// changes nothing.
func (a *app) apply(cfg *config.Config) error {
	// Compare with the config the process started on: a key a reload
	// could not apply stays pending however many reloads follow.
	var pending []string
	if a.boot != nil {
		pending = restartOnlyChanges(a.boot, cfg)
		for _, key := range pending {
			a.log.Warn("setting changed but needs a restart to take effect; keeping the running value", zap.String("key", key))
		}
	}
	a.mu.Lock()
	previous := a.injectors
	a.mu.Unlock()
	injectors, err := a.buildInjectors(cfg, previous)
	if err != nil {
		return err
	}
	creds := cfg.RoutingCredentials()
	for i := range creds {
		if inj := injectors[creds[i].Name]; inj != nil && inj.Kind() != "none" {
			creds[i].Auth = inj.Injector
		}
	}
	routes, err := routing.Compile(creds)
	if err == nil {
		var overrides *routing.Overrides
		overrides, err = routing.CompileOverrides(cfg.Resolve)
		var clients *access.Clients
		if err == nil {
			clients, err = proxyClients(cfg)
		}
		if err == nil {
			err = a.manager.CheckApply(cfg.Connections)
		}
		if err == nil {
			err = a.manager.Apply(cfg.Connections)
		}
		if err == nil {
			a.manager.SetWarmup(cfg.Warmup)
			a.proxy.SetSnapshot(&proxy.Snapshot{Routes: routes, Resolve: overrides, Clients: clients, Limits: proxyLimits(cfg)})
			a.probe.Retain(routes)
		}
	}
	if err != nil {
		closeInjectors(unshared(injectors, previous))
		return err
	}
	a.mu.Lock()
	a.injectors = injectors
	a.mu.Unlock()
	// Requests that loaded the old snapshot may still call the injectors it
	// no longer uses: close those once such requests have had their start.
	if retired := unshared(previous, injectors); len(retired) > 0 {
		time.AfterFunc(injectorGrace, func() { closeInjectors(retired) })
	}
	a.cfg.Store(cfg)
	if a.boot == nil {
		a.boot = cfg
	}
	a.restartPending.Store(&pending)
	a.tried.Store(cfg.Hash)
	a.metrics.reloads.WithLabelValues("success").Inc()
	a.metrics.lastReloadOK.Set(1)
	a.metrics.lastReloadSuccess.SetToCurrentTime()
	a.metrics.configHash.Reset()
	a.metrics.configHash.WithLabelValues(cfg.Hash).Set(1)
	return nil
}

// injector is a named credential's Injector with what it was built from,
// so a reload that leaves both unchanged keeps it (and its token cache).
type injector struct {
	*credauth.Injector
	spec     credauth.Spec
	awsMode  string
	endpoint string
}

// injectorGrace is how long a replaced injector stays open for requests
// that loaded the previous snapshot (they call Inject right after).
const injectorGrace = 30 * time.Second

func (a *app) buildInjectors(cfg *config.Config, previous map[string]*injector) (map[string]*injector, error) {
	out := make(map[string]*injector)
	var errs []error
	for _, nc := range cfg.NamedCredentials {
		if old := previous[nc.Name]; old != nil && old.awsMode == cfg.AWS.Mode && old.endpoint == cfg.AWS.EndpointURL &&
			reflect.DeepEqual(old.spec, nc.Auth) {
			out[nc.Name] = old
			continue
		}
		opts := credauth.Options{Logger: a.log, TokenDialTLS: a.tokens.DialTLS} // credauth names its logger itself
		if s := nc.Auth.SigV4; s != nil && cfg.AWS.Mode == "aws" && cfg.AWS.EndpointURL != "" {
			// aws.endpoint_url overrides STS too: a signing role
			// (aws_sigv4.role_arn) is assumed where the control plane
			// talks to AWS.
			region, endpoint := s.Region, cfg.AWS.EndpointURL
			opts.AWSConfig = func(ctx context.Context) (sdkaws.Config, error) {
				c, err := sdkconfig.LoadDefaultConfig(ctx, sdkconfig.WithRegion(region))
				c.BaseEndpoint = sdkaws.String(endpoint)
				return c, err
			}
		}
		// The error names the credential and the file or variable already.
		inj, err := credauth.New(nc.Name, nc.Auth, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[nc.Name] = &injector{Injector: inj, spec: nc.Auth, awsMode: cfg.AWS.Mode, endpoint: cfg.AWS.EndpointURL}
	}
	if len(errs) > 0 {
		closeInjectors(unshared(out, previous))
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// unshared returns the injectors of m that other does not hold too.
func unshared(m, other map[string]*injector) map[string]*injector {
	out := make(map[string]*injector)
	for name, inj := range m {
		if other[name] != inj {
			out[name] = inj
		}
	}
	return out
}

func closeInjectors(m map[string]*injector) {
	for _, inj := range m {
		_ = inj.Close()
	}
}

// pendingRestart lists the config keys changed since start that only a
// restart applies.
func (a *app) pendingRestart() []string {
	if p := a.restartPending.Load(); p != nil {
		return *p
	}
	return nil
}

// restartOnlyChanges lists the keys whose new value a reload cannot apply.
func restartOnlyChanges(old, cfg *config.Config) []string {
	var out []string
	if old.Listen.Proxy != cfg.Listen.Proxy {
		out = append(out, "listen.proxy")
	}
	if old.Listen.Admin != cfg.Listen.Admin {
		out = append(out, "listen.admin")
	}
	if !reflect.DeepEqual(old.TLS, cfg.TLS) {
		out = append(out, "tls")
	}
	if !reflect.DeepEqual(old.AWS, cfg.AWS) {
		out = append(out, "aws")
	}
	if old.Sync != cfg.Sync {
		out = append(out, "sync")
	}
	if old.Timeouts != cfg.Timeouts {
		out = append(out, "timeouts")
	}
	if old.Limits.MaxHeaderBytes != cfg.Limits.MaxHeaderBytes {
		out = append(out, "limits.max_header_bytes")
	}
	if old.Limits.MaxResponseHeaderBytes != cfg.Limits.MaxResponseHeaderBytes {
		out = append(out, "limits.max_response_header_bytes")
	}
	if old.Engine != cfg.Engine {
		out = append(out, "engine")
	}

	return out
}

// credentialViews answers GET /v1/named-credentials.
func (a *app) credentialViews() []admin.CredentialView {
	snap := a.proxy.Snapshot()
	if snap == nil {
		return nil
	}
	a.mu.Lock()
	injectors := a.injectors
	a.mu.Unlock()
	cfg := a.cfg.Load()
	urls := make(map[string]string, len(cfg.NamedCredentials))
	for _, nc := range cfg.NamedCredentials {
		urls[nc.Name] = nc.URL
	}
	requests, refusals := credentialCounts(a.proxyMetrics)
	out := make([]admin.CredentialView, 0, snap.Routes.Len())
	for _, d := range snap.Routes.Destinations() {
		v := admin.CredentialView{
			Name: d.Name, URL: urls[d.Name], Host: d.Host, Port: d.Port, Connection: d.Connection,
			AuthType: "none",
		}
		if inj := injectors[d.Name]; inj != nil {
			v.AuthType, v.SecretLoaded = inj.Kind(), inj.SecretLoaded()
		}
		a.fillCertificate(d, &v)
		fillAdmission(&v, a.manager.Admit(d.Connection))
		v.Requests, v.Refusals = requests[d.Name], refusals[d.Name]
		out = append(out, v)
	}
	return out
}

// proxyEngine maps the config's engine name (validated by config) to the
// proxy's.
func proxyEngine(name string) proxy.Engine {
	if name == config.EngineStdlib {
		return proxy.EngineStdlib
	}
	return proxy.EngineFast
}
