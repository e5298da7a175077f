package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/metrics"
	"github.com/authflow/authflow/server"
	"github.com/authflow/authflow/store"
	"github.com/authflow/authflow/store/redisstore"
	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// settings are the server settings (README, "Running the server"): each a flag,
// an AUTHFLOW_* environment variable (dots become underscores) and a key of
// the optional config file. Viper owns these only; strategy files are read
// by package strategies, whose keys are case-sensitive.
var settings = []struct {
	key, flag, usage string
	def              any
}{
	{"addr", "addr", "listen address HOST:PORT", "127.0.0.1:8080"},
	{"strategies", "strategies", "strategies file", ""},
	{"base_uri", "base-uri", "external URL of this server, e.g. https://app.example.com (default http://ADDR)", ""},
	{"signin_success", "signin-success", "where a login without return_to lands", "/"},
	{"signout_success", "signout-success", "where sign-out redirects", "/"},
	{"signout_webhook", "signout-webhook", "URL that receives a JSON POST each time a session ends (sign-out, back-channel logout, refused refresh, strategy removed)", ""},
	// A secret: no flag (other users see flags in ps); AUTHFLOW_SIGNOUT_WEBHOOK_SECRET or the config file.
	{"signout_webhook_secret", "", "HMAC-SHA256 key that signs each webhook POST (Authflow-Signature)", ""},
	{"session.store", "session-store", "session store: memory or redis", "memory"},
	{"session.redis_url", "session-redis-url", "Redis URL for session.store=redis (in the form session.redis_mode asks)", "redis://127.0.0.1:6379/0"},
	{"session.redis_mode", "session-redis-mode", "how to reach Redis: single, sentinel (URL ?master_name=NAME&addr=…) or cluster (URL ?addr=…&addr=…)", "single"},
	{"session.lifetime", "session-lifetime", "absolute session lifetime", 24 * time.Hour},
	{"session.idle_timeout", "session-idle-timeout", "end sessions idle this long (0: never)", time.Duration(0)},
	{"cookie.secure", "cookie-secure", "mark cookies Secure (turn off only for plain-http development)", true},
	{"step_timeout", "step-timeout", "timeout of each outbound call to an IdP", 10 * time.Second},
	{"max_response_bytes", "max-response-bytes", "size limit of each IdP answer", int64(1 << 20)},
	{"log.format", "log-format", "log format: json or text", "json"},
	{"log.level", "log-level", "log level: debug, info, warn, error", "info"},
	{"metrics.addr", "metrics-addr", "serve /metrics on this address instead of addr (\"off\" disables it)", ""},
	{"upstream_jwt.enabled", "upstream-jwt-enabled", "send upstreams an authflow-signed JWT in X-Auth-Token; serve /auth/token and /.well-known/jwks.json", false},
	{"upstream_jwt.key_file", "upstream-jwt-key-file", "PEM private key that signs the upstream JWT: EC P-256, Ed25519 or RSA >= 2048 bits (default: an ephemeral P-256 key, not shared between instances)", ""},
	{"upstream_jwt.ttl", "upstream-jwt-ttl", "lifetime of each upstream JWT (never past its session's end)", 15 * time.Minute},
	{"upstream_jwt.audience", "upstream-jwt-audience", "aud of the upstream JWT (default base_uri)", ""},
	{"app_name", "app-name", "the application's name, shown on every page (\"Sign in to NAME\")", ""},
	{"logo_url", "logo-url", "logo shown on every page: an https URL, a path on this server or a data:image URL", ""},
	{"templates_dir", "templates-dir", "directory whose templates (chooser.html, account.html, error.html, notfound.html, layout.html) replace the built-in ones, file by file", ""},
	{"reload", "reload", "reload the strategies file when it changes (SIGHUP always reloads)", true},
}

func newServeCmd() *cobra.Command {
	v := viper.New()
	var configFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the authflow server: login routes, sessions, refresh, sign-out, forward-auth",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := readConfig(v, configFile); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, v, cmd.ErrOrStderr(), nil)
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "config file (JSON, YAML or TOML)")
	bindSettings(v, cmd.Flags())
	return cmd
}

// readConfig reads the optional config file into v. Flags and environment
// variables win over it.
func readConfig(v *viper.Viper, path string) error {
	if path == "" {
		return nil
	}
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// bindSettings declares each setting as a flag and binds flag, environment
// and default in v.
func bindSettings(v *viper.Viper, fs *pflag.FlagSet) {
	v.SetEnvPrefix("AUTHFLOW")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	for _, s := range settings {
		switch d := s.def.(type) {
		case string:
			if s.flag == "" {
				break
			}
			fs.String(s.flag, d, s.usage)
		case bool:
			fs.Bool(s.flag, d, s.usage)
		case time.Duration:
			fs.Duration(s.flag, d, s.usage)
		case int64:
			fs.Int64(s.flag, d, s.usage)
		}
		v.SetDefault(s.key, s.def)
		if s.flag == "" {
			continue
		}
		v.BindPFlag(s.key, fs.Lookup(s.flag))
	}
}

// serve runs the server until ctx ends. ready, when not nil, receives the
// listening address (tests).
func serve(ctx context.Context, v *viper.Viper, stderr io.Writer, ready chan<- string) error {
	log, err := newLogger(stderr, v.GetString("log.format"), v.GetString("log.level"))
	if err != nil {
		return err
	}
	path := v.GetString("strategies")
	if path == "" {
		// With no strategies file the server runs the built-in demo.
		log.Warn("no strategies file (--strategies, AUTHFLOW_STRATEGIES): serving the built-in demo with its development IdP; not for production")
		return runDemo(ctx, v.GetString("addr"), v.GetString("base_uri"), v.GetString("log.level"), stderr, stderr, ready)
	}
	ln, err := net.Listen("tcp", v.GetString("addr"))
	if err != nil {
		return err
	}
	defer ln.Close()
	base := v.GetString("base_uri")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	engineOptions := func() engine.Options {
		return engine.Options{
			BaseURI:          base,
			StepTimeout:      v.GetDuration("step_timeout"),
			MaxResponseBytes: v.GetInt64("max_response_bytes"),
			OnStep: func(e engine.StepEvent) {
				m.Step(e)
				if e.Err != nil {
					log.Warn("step", "strategy", e.Strategy, "step", e.Step, "latency", e.Duration, "outcome", "error", "error", e.Err.Error())
					return
				}
				log.Debug("step", "strategy", e.Strategy, "step", e.Step, "latency", e.Duration, "outcome", "ok")
			},
			OnKeysFetch: func(uri string, err error) {
				m.KeysFetch(uri, err)
				if err != nil {
					log.Warn("jwks fetch", "uri", uri, "outcome", "error", "error", err.Error())
					return
				}
				log.Debug("jwks fetch", "uri", uri, "outcome", "ok")
			},
		}
	}
	eng, plan, err := loadEngine(path, engineOptions(), log)
	if err != nil {
		return err
	}
	redisLogOnce.Do(func() { redis.SetLogger(redisLog{log}) }) // process-global in go-redis
	upstream, err := upstreamJWT(v)
	if err != nil {
		eng.Close()
		return err
	}
	st, err := openStore(ctx, v)
	if err != nil {
		eng.Close()
		return err
	}
	defer st.Close()
	srv, err := server.New(eng, server.Config{
		BaseURI:              base,
		SigninSuccess:        v.GetString("signin_success"),
		SignoutSuccess:       v.GetString("signout_success"),
		SignoutWebhook:       v.GetString("signout_webhook"),
		SignoutWebhookSecret: v.GetString("signout_webhook_secret"),
		Store:                st,
		SessionLifetime:      v.GetDuration("session.lifetime"),
		IdleTimeout:          v.GetDuration("session.idle_timeout"),
		InsecureCookies:      !v.GetBool("cookie.secure"),
		UpstreamJWT:          upstream,
		AppName:              v.GetString("app_name"),
		LogoURL:              v.GetString("logo_url"),
		TemplatesDir:         v.GetString("templates_dir"),
		Logger:               log,
		Observer:             m,
	})
	if err != nil {
		eng.Close()
		return err
	}
	rl := &reloader{path: path, log: log, srv: srv, options: engineOptions, reloaded: m.Reload, eng: eng}
	defer rl.close()

	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	var handler http.Handler = srv
	var servers []*http.Server
	switch maddr := v.GetString("metrics.addr"); maddr {
	case "":
		handler = withMetrics(srv, metricsHandler)
	case "off":
	default:
		mln, err := net.Listen("tcp", maddr)
		if err != nil {
			return fmt.Errorf("metrics.addr: %w", err)
		}
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", metricsHandler)
		ms := newHTTPServer(mm, log)
		servers = append(servers, ms)
		go ms.Serve(mln)
		log.Info("metrics serving", "addr", mln.Addr().String())
	}
	hs := newHTTPServer(handler, log)
	servers = append(servers, hs)

	// SIGHUP is caught from here on (before ready), so it never kills the
	// process while the reloader starts.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	rctx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	var watcher *fsnotify.Watcher
	if v.GetBool("reload") {
		watcher = rl.watch()
	}
	var reloadDone sync.WaitGroup
	reloadDone.Add(1)
	go func() {
		defer reloadDone.Done()
		rl.run(rctx, hup, watcher, 250*time.Millisecond)
	}()

	log.Info("authflow serving", "addr", ln.Addr().String(), "base_uri", base, "strategies", path,
		"count", len(plan.Names()), "session_store", v.GetString("session.store"))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if err := serveUntilDone(ctx, hs, ln); err != nil {
		return err
	}
	log.Info("shutting down")
	stopReload()
	reloadDone.Wait()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, s := range servers {
		if e := s.Shutdown(sctx); e != nil && err == nil {
			err = e
		}
	}
	srv.Close()
	return err
}

// withMetrics serves /metrics (GET and HEAD; 405 otherwise) with metrics
// and everything else with srv. It is a path test rather than a ServeMux
// in front of the Server's own, since every forward-auth check passes
// through it.
func withMetrics(srv, metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			metrics.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
}

// serveUntilDone serves ln until ctx ends (nil) or the server fails.
func serveUntilDone(ctx context.Context, hs *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

// newHTTPServer returns an http.Server with authflow's timeouts.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

var redisLogOnce sync.Once

// redisLog routes go-redis's own messages (pool dial failures, ...) to the
// structured log instead of plain stderr.
type redisLog struct{ log *slog.Logger }

// Printf implements go-redis's internal.Logging.
func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis", "message", fmt.Sprintf(format, v...))
}

// upstreamJWT reads the upstream_jwt settings. Without a key file the
// server makes an ephemeral key, and warns that instances do not share it.
func upstreamJWT(v *viper.Viper) (server.UpstreamJWT, error) {
	u := server.UpstreamJWT{Enabled: v.GetBool("upstream_jwt.enabled"),
		TTL: v.GetDuration("upstream_jwt.ttl"), Audience: v.GetString("upstream_jwt.audience")}
	path := v.GetString("upstream_jwt.key_file")
	if !u.Enabled || path == "" {
		return u, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return u, fmt.Errorf("upstream_jwt.key_file: %w", err)
	}
	if u.Key, err = server.ParseSigningKey(pem); err != nil {
		return u, fmt.Errorf("upstream_jwt.key_file %s: %w", path, err)
	}
	return u, nil
}

// sessionStore is a server.Store that serve closes when it stops.
type sessionStore interface {
	server.Store
	Close() error
}

func openStore(ctx context.Context, v *viper.Viper) (sessionStore, error) {
	switch kind := v.GetString("session.store"); kind {
	case "memory", "":
		return store.NewMemory(store.MemoryOptions{}), nil
	case "redis":
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return redisstore.Open(c, redisstore.Options{URL: v.GetString("session.redis_url"),
			Mode: redisstore.Mode(v.GetString("session.redis_mode")), Prefix: "authflow:"})
	default:
		return nil, fmt.Errorf("session.store: %q is not memory or redis", kind)
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json", "":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log.format: %q is not json or text", format)
	}
}
