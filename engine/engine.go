package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/authflow/authflow/strategies"
	"golang.org/x/sync/singleflight"
)

// Options configures an Engine: what it binds a plan to at run time (the
// HTTP client, the environment, the clock, hooks). The zero value is
// usable; New applies the defaults documented on each field. None of them
// turns a security check off.
type Options struct {
	// HTTPClient makes every outbound call. Default: a client with
	// http.DefaultTransport. Its transport is wrapped to enforce
	// MaxResponseBytes; it is never http.DefaultClient itself.
	HTTPClient *http.Client
	// StepTimeout bounds each outbound call. Default 10s.
	StepTimeout time.Duration
	// MaxResponseBytes bounds each outbound answer. Default 1 MiB.
	MaxResponseBytes int64
	// BaseURI is used by strategies whose file sets no base_uri.
	BaseURI string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30s.
	Leeway time.Duration
	// JWKSRefreshInterval is the age at which a key set is refetched, in
	// the background, on its next use. Default 1h.
	JWKSRefreshInterval time.Duration
	// JWKSUnknownKIDInterval is the least time between two refetches caused
	// by tokens signed with an unknown key id, shared by all such tokens: a
	// rotated-in key verifies within this time even under a flood of forged
	// kids. Default 5s.
	JWKSUnknownKIDInterval time.Duration
	// LookupEnv reads ${env.NAME}. Default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits d, or until ctx ends (then it returns ctx.Err()): a
	// device login's wait between two polls. Tests pass one that advances
	// their clock instead. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnStep, when set, is called after every step run (login steps,
	// refresh, revoke) with its duration and outcome, for logs and metrics.
	// It must be safe for concurrent use and must not block.
	OnStep func(StepEvent)
	// BearerCacheSize bounds the verified bearer tokens kept (by a hash of
	// the token) so that a token seen again is not verified again.
	// Default 10000.
	BearerCacheSize int
	// OnKeysFetch, when set, is called after every fetch of a JSON Web Key
	// Set (the first, the periodic refreshes, and those an unknown key id
	// causes) with the jwks_uri and the outcome, for logs and metrics. It
	// must be safe for concurrent use and must not block.
	OnKeysFetch func(uri string, err error)
}

// StepEvent describes one step run.
type StepEvent struct {
	Strategy string
	Step     string
	Duration time.Duration
	Err      error // nil on success
}

func (o *Options) setDefaults() {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = 10 * time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 1 << 20
	}
	if o.Leeway <= 0 {
		o.Leeway = 30 * time.Second
	}
	if o.JWKSRefreshInterval <= 0 {
		o.JWKSRefreshInterval = time.Hour
	}
	if o.JWKSUnknownKIDInterval <= 0 {
		o.JWKSUnknownKIDInterval = 5 * time.Second
	}
	if o.BearerCacheSize <= 0 {
		o.BearerCacheSize = 10000
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
}

// Engine runs the strategies of one plan with what they share: the HTTP
// client and the key-set cache. It is safe for concurrent use.
type Engine struct {
	opts   Options
	client *http.Client
	order  []string
	byName map[string]*Strategy

	keysMu sync.Mutex
	keys   map[string]*keySet // by jwks_uri, or "issuer:"+issuer for discovery

	bearers    []*bearerStrategy // the strategies that take bearer tokens (bearer.go)
	introspect *bearerStrategy   // the one that introspects opaque tokens, or nil
	bearerHits bearerCache
	// bearerMiss joins the verifications of one token that arrive
	// together on a cold cache: one signature check or introspection call.
	bearerMiss singleflight.Group
	ctx        context.Context // ends background JWKS refreshes
	cancel     context.CancelFunc
}

// New binds a compiled plan (strategies.Load, Parse or Compile) to the
// run-time concerns in opts: it reads the environment the templates name,
// resolves the variables, and gives each verifier its key set. Nothing is
// compiled or checked again here: a plan is valid by construction. New
// fails when a ${env.NAME} is unset, when no base_uri is set anywhere, or
// when a URI the environment completes is not an absolute http(s) URL,
// naming the strategy and field. A strategy with an "issuer" key has its
// discovery document read here (see NewContext). Call Close when done with
// the engine.
func New(plan *strategies.Plan, opts Options) (*Engine, error) {
	return NewContext(context.Background(), plan, opts)
}

// NewContext is New with a context for the requests it makes: for each
// strategy with an "issuer" key, one GET of
// ${issuer}/.well-known/openid-configuration (OpenID Connect Discovery 1.0
// §4) through Options.HTTPClient, within Options.StepTimeout and
// Options.MaxResponseBytes. Its members are ${discovery.NAME}; its issuer
// must be the configured one, byte for byte. A userinfo, revoke or
// introspect step, or logout_uri, reading a member the document lacks is
// left out (Strategy.LeftOut); any other failure is New's error, naming
// the URL.
func NewContext(ctx context.Context, plan *strategies.Plan, opts Options) (*Engine, error) {
	if plan == nil {
		return nil, errors.New("engine: no plan: compile one with strategies.Load, Parse or Compile")
	}
	opts.setDefaults()
	// bg outlives ctx: it ends the background key-set refreshes at Close.
	bg, cancel := context.WithCancel(context.Background())
	e := &Engine{
		opts:   opts,
		client: limitClient(opts.HTTPClient, opts.MaxResponseBytes),
		byName: map[string]*Strategy{},
		keys:   map[string]*keySet{},
		ctx:    bg,
		cancel: cancel,
	}
	for _, sp := range plan.Strategies() {
		s, err := e.bind(ctx, sp)
		if eu := (*EnvUnsetError)(nil); errors.As(err, &eu) {
			cancel()
			eu.File, eu.Strategy = plan.File(), sp.Name()
			return nil, eu
		}
		if err != nil {
			cancel()
			return nil, fmt.Errorf("engine: %s: strategy %q: %w", plan.File(), sp.Name(), err)
		}
		e.order = append(e.order, sp.Name())
		e.byName[sp.Name()] = s
	}
	if err := e.bindBearers(); err != nil { // bearer.go
		cancel()
		return nil, fmt.Errorf("engine: %s: %w", plan.File(), err)
	}
	return e, nil
}

// Close stops the background key-set refreshes.
func (e *Engine) Close() { e.cancel() }

// Strategy returns the compiled strategy of that name, or nil.
func (e *Engine) Strategy(name string) *Strategy { return e.byName[name] }

// Strategies returns the strategies in file order.
func (e *Engine) Strategies() []*Strategy {
	out := make([]*Strategy, len(e.order))
	for i, n := range e.order {
		out[i] = e.byName[n]
	}
	return out
}
