package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/config"
	"github.com/callgate/callgate/tlslisten"
)

//go:embed default.yaml
var defaultConfig []byte

var serveCmd = &command{
	name: "serve",
	about: `Run the gateway: the proxy and admin listeners, the control loop and live
reloads (SIGHUP, a change of the config file, POST /-/reload). Without
--config it runs the embedded default: simulated AWS, listeners on 127.0.0.1.
SIGTERM or SIGINT drains and exits.`,
	env: append([]envVar{
		configEnv,
		{"GOGC", "set: callgate leaves the garbage collector's pacing to it"},
		{"GOMEMLIMIT", "the Go runtime's soft memory limit"},
	}, awsEnv...),
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "config `FILE` (default: the embedded simulated-AWS default)")
	watch := fs.Bool("config.watch", true, "reload when the config file (or its directory's ..data symlink) changes")
	logLevel := fs.String("log.level", "info", "log `LEVEL`: debug, info, warn, error")
	logFormat := fs.String("log.format", "json", "log `FORMAT`: json or console")
	if _, code, ok := serveCmd.parse(fs, args, stdout, stderr); !ok {
		return code
	}
	log, err := newLogger(*logLevel, *logFormat, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "callgate serve:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	tuneGC(log)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)

	s, err := startServer(ctx, *path, log, serverOptions{watch: *watch})
	if err != nil {
		log.Error("callgate could not start", zap.Error(err))
		fmt.Fprintln(stderr, "callgate serve:", err)
		return 1
	}
	fmt.Fprintf(stdout, "callgate %s: proxy on %s, admin on %s\n", version, s.ProxyAddr(), s.AdminAddr())
	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				go func() { _ = s.app.reloader.Reload(ctx) }() // its outcome is logged and counted
				continue
			}
			log.Info("shutting down", zap.String("signal", sig.String()))
			go func() {
				<-signals
				log.Warn("second signal: exiting at once")
				os.Exit(1)
			}()
			if err := s.Shutdown(context.Background()); err != nil {
				log.Error("shutdown", zap.Error(err))
				return 1
			}
			return 0
		case err := <-s.errs:
			log.Error("listener failed", zap.Error(err))
			_ = s.Shutdown(context.Background())
			return 1
		}
	}
}

func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log.level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console":
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("--log.format %q: want json or console", format)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl)), nil
}

// loadConfig reads path, or the embedded default when path is "".
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Parse("embedded-default.yaml", defaultConfig)
	}
	return config.Load(path)
}

// server is a started callgate: listeners open, loops running.
type server struct {
	app     *app
	log     *zap.Logger
	cancel  context.CancelFunc
	proxyLn net.Listener
	adminLn net.Listener
	adminHS *http.Server
	certs   *tlslisten.Provider // nil when no listener serves TLS
	errs    chan error
	done    chan struct{} // closed when the control loop has stopped
}

// serverOptions are the knobs tests turn; the zero value is a server that
// does not watch its config file and has a fresh registry.
type serverOptions struct {
	watch bool                 // reload when the config file changes
	reg   *prometheus.Registry // nil: a fresh one
}

// startServer loads the config, opens both listeners and starts every loop.
func startServer(parent context.Context, path string, log *zap.Logger, opts serverOptions) (*server, error) {
	reg := opts.reg
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	ctx, cancel := context.WithCancel(parent)
	a, err := newApp(ctx, cfg, path, log, reg)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &server{app: a, log: log, cancel: cancel, errs: make(chan error, 2), done: make(chan struct{})}
	if s.certs, err = newTLSProvider(ctx, cfg, log.Named("tls")); err != nil {
		cancel()
		return nil, err
	}
	if s.proxyLn, err = listen(cfg, "proxy", cfg.Listen.Proxy, s.certs); err != nil {
		s.closeCerts()
		cancel()
		return nil, err
	}
	if s.adminLn, err = listen(cfg, "admin", cfg.Listen.Admin, s.certs); err != nil {
		_ = s.proxyLn.Close()
		s.closeCerts()
		cancel()
		return nil, err
	}
	var sim admin.Simulator
	if a.sim != nil && cfg.AWS.Simulated.Acceptance == "manual" {
		sim = a.sim
	}
	s.adminHS = &http.Server{
		Handler: admin.New(admin.Options{
			Addr:           s.adminLn.Addr(),
			ListenHost:     listenHost(cfg.Listen.Admin),
			Hosts:          func() []string { return a.cfg.Load().Admin.Hosts },
			Connections:    a.manager,
			Reload:         a.reloader.Reload,
			Credentials:    a.credentialViews,
			Explain:        a.explain,
			Simulator:      sim,
			TokenFile:      func() string { return a.cfg.Load().Admin.TokenFile },
			ProtectReads:   func() bool { return a.cfg.Load().Admin.ProtectReads },
			Metrics:        admin.NewMetrics(reg),
			RestartPending: a.pendingRestart,
			Gatherer:       reg,
			ShuttingDown:   a.shuttingDown.Load,
			Logger:         log.Named("admin"),
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("admin")),
	}
	go a.reloader.run(ctx)
	go func() {
		defer close(s.done)
		_ = a.manager.Run(ctx)
	}()
	go a.probe.Run(ctx)
	go func() {
		if err := a.proxy.Serve(s.proxyLn); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("proxy listener: %w", err)
		}
	}()
	go func() {
		if err := s.adminHS.Serve(s.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("admin listener: %w", err)
		}
	}()
	if path != "" && opts.watch {
		if err := watchConfig(ctx, path, a.lastTried, func() { _ = a.reloader.Reload(ctx) }, log.Named("watch")); err != nil {
			log.Warn("config file watch unavailable; reload with SIGHUP or POST /-/reload", zap.Error(err))
		}
	}
	log.Info("callgate started", zap.String("version", version), zap.String("proxy", s.proxyLn.Addr().String()),
		zap.String("admin", s.adminLn.Addr().String()), zap.String("aws_mode", cfg.AWS.Mode), zap.String("config_hash", cfg.Hash))
	return s, nil
}

// ProxyAddr and AdminAddr are the bound listener addresses.
func (s *server) ProxyAddr() string { return s.proxyLn.Addr().String() }
func (s *server) AdminAddr() string { return s.adminLn.Addr().String() }

// Shutdown: /readyz turns 503 first, then the proxy stops accepting and
// drains in-flight requests up to shutdown.drain, then tunnels close.
func (s *server) Shutdown(ctx context.Context) error {
	a := s.app
	a.shuttingDown.Store(true)
	cfg := a.cfg.Load()
	if d := cfg.Shutdown.ReadyDelay; d > 0 {
		// Give load balancers that poll /readyz time to stop sending.
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	drainCtx, cancel := context.WithTimeout(ctx, cfg.Shutdown.Drain)
	defer cancel()
	err := a.proxy.Shutdown(drainCtx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("proxy drain", zap.Error(err))
	}
	adminCtx, cancelAdmin := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelAdmin()
	_ = s.adminHS.Shutdown(adminCtx)
	s.cancel()
	<-s.done
	s.closeCerts()
	a.mu.Lock()
	closeInjectors(a.injectors)
	a.injectors = nil
	a.mu.Unlock()
	s.log.Info("callgate stopped")
	return nil
}

func (s *server) closeCerts() {
	if s.certs != nil {
		s.certs.Close()
	}
}
