package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var format string
	var online bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check strategy files; exit 1 when any has an error",
		Long: `Check strategy files as the server would load them: JSON syntax
(FILE: line L, column C: what is wrong), then each strategy merged with its
built-in default. Prints one line per problem,
FILE: strategy "NAME": step "STEP": FIELD: message (line L, column C),
warnings marked "warning:". Exits 0 when every file is valid (warnings
allowed), 1 otherwise.

Nothing is fetched unless --online is given: then, after the offline checks,
each strategy with an "issuer" has its discovery document read as the server
reads it at start, and one line per strategy reports the URL, ok or the error,
the steps left out and the client authentication chosen. A discovery failure
exits 1. An environment variable the file reads but that is unset is given a
placeholder value, except where the issuer needs it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format must be text or json, not %q", format)
			}
			var all strategies.Problems
			var found []onlineResult
			failed := false
			for _, f := range files {
				ps := checkFile(f)
				all = append(all, ps...)
				if ps.HasErrors() {
					failed = true
				}
				if format == "text" {
					for _, p := range ps {
						fmt.Fprintln(cmd.OutOrStdout(), p.Error())
					}
					if !ps.HasErrors() {
						fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", f)
					}
				}
				if !online || ps.HasErrors() {
					continue
				}
				plan, err := strategies.Load(f)
				if err != nil { // checked above; the file changed since
					failed = true
					fmt.Fprintln(cmd.OutOrStdout(), err)
					continue
				}
				for _, r := range discoverOnline(cmd.Context(), plan, timeout) {
					r.strategy = nil
					found = append(found, r)
					if !r.OK {
						failed = true
					}
					if format == "text" {
						fmt.Fprintln(cmd.OutOrStdout(), r.line())
					}
				}
			}
			if format == "json" {
				if all == nil {
					all = strategies.Problems{}
				}
				out := map[string]any{"valid": !failed, "problems": all}
				if online {
					if found == nil {
						found = []onlineResult{}
					}
					out["discovery"] = found
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			}
			if failed {
				return exitError(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&online, "online", false, "also read each issuer's discovery document (network)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "with --online: the limit for each discovery request")
	return cmd
}

func checkFile(path string) strategies.Problems {
	data, err := os.ReadFile(path)
	if err != nil {
		return strategies.Problems{{File: path, Severity: strategies.SevError, Message: err.Error()}}
	}
	return strategies.Check(path, data)
}

// onlineResult is what --online found for one strategy with an issuer.
type onlineResult struct {
	File         string `json:"file"`
	Strategy     string `json:"strategy"`
	DiscoveryURL string `json:"discovery_url"`
	OK           bool   `json:"ok"`
	// ErrorKind is one of wrong_issuer, missing_endpoint, http_status,
	// timeout, unreachable, too_large, bad_response, env_unset, error.
	ErrorKind string `json:"error_kind,omitempty"`
	Error     string `json:"error,omitempty"`
	// LeftOut: step (or "logout", for logout_uri) → the member the
	// document lacks.
	LeftOut map[string]string `json:"left_out,omitempty"`
	// ClientAuth: step → the client authentication the engine uses there.
	ClientAuth map[string]string `json:"client_auth,omitempty"`

	strategy *engine.Strategy // bound, for explain; nil on failure
}

// line is the result as one line of text.
func (r onlineResult) line() string {
	head := fmt.Sprintf("%s: strategy %q: discovery %s: ", r.File, r.Strategy, r.DiscoveryURL)
	if !r.OK {
		return head + "error (" + r.ErrorKind + "): " + r.Error
	}
	left := "none"
	if len(r.LeftOut) > 0 {
		var parts []string
		for _, k := range sortedKeys(r.LeftOut) {
			parts = append(parts, fmt.Sprintf("%s (no %s)", k, r.LeftOut[k]))
		}
		left = strings.Join(parts, ", ")
	}
	auth := "set by the steps"
	if len(r.ClientAuth) > 0 {
		byMethod := map[string][]string{}
		for _, step := range sortedKeys(r.ClientAuth) {
			m := r.ClientAuth[step]
			byMethod[m] = append(byMethod[m], step)
		}
		var parts []string
		for _, m := range sortedKeys(byMethod) {
			parts = append(parts, fmt.Sprintf("%s (%s)", m, strings.Join(byMethod[m], ", ")))
		}
		auth = strings.Join(parts, ", ")
	}
	return head + "ok; left out: " + left + "; client auth: " + auth
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// onlinePlaceholder is the value validate --online and explain --online give
// an unset ${env.NAME}: URL-shaped, so that a URI the variable begins still
// passes the engine's absolute-URL check; it is never sent anywhere but
// where the file puts it, and only discovery requests are made.
const onlinePlaceholder = "https://env-unset.invalid/"

// onlineBaseURI is the server base_uri for a file that sets none.
const onlineBaseURI = "https://base-uri.invalid"

// discoverOnline reads, for each strategy of the plan with an issuer, its
// discovery document as serve does (engine.NewContext, within timeout), one
// strategy at a time so that one failure does not hide the others.
func discoverOnline(ctx context.Context, plan *strategies.Plan, timeout time.Duration) []onlineResult {
	if ctx == nil {
		ctx = context.Background()
	}
	var out []onlineResult
	for _, sp := range plan.Strategies() {
		if sp.Discovery() {
			out = append(out, discoverOne(ctx, plan.File(), sp, timeout))
		}
	}
	return out
}

func discoverOne(ctx context.Context, file string, sp *strategies.StrategyPlan, timeout time.Duration) onlineResult {
	def := sp.Definition()
	r := onlineResult{File: file, Strategy: sp.Name(), DiscoveryURL: discoveryURLOf(def.Custom[strategies.VarIssuer])}
	fail := func(kind, msg string) onlineResult {
		r.ErrorKind, r.Error = kind, msg
		return r
	}
	if unset := issuerEnv(sp); len(unset) > 0 {
		return fail("env_unset", fmt.Sprintf("the issuer reads ${env.%s}, which is not set; set it to check discovery", strings.Join(unset, "}, ${env.")))
	}
	one, err := strategies.Compile(file, *def)
	if err != nil {
		return fail("error", err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	eng, err := engine.NewContext(ctx, one, engine.Options{
		StepTimeout: timeout,
		BaseURI:     onlineBaseURI,
		LookupEnv: func(name string) (string, bool) {
			if v, ok := os.LookupEnv(name); ok {
				return v, true
			}
			return onlinePlaceholder + name, true
		},
	})
	if err != nil {
		return fail(discoveryErrorKind(err), trimEngineError(err, file, sp.Name(), r.DiscoveryURL))
	}
	defer eng.Close()
	s := eng.Strategy(sp.Name())
	r.OK, r.strategy = true, s
	if u := s.DiscoveryURL(); u != "" {
		r.DiscoveryURL = u
	}
	if lo := s.LeftOut(); len(lo) > 0 {
		r.LeftOut = lo
	}
	steps := sp.LoginSteps()
	for _, p := range append([]*strategies.StepPlan{sp.RefreshStep()}, sp.RevokeSteps()...) {
		if p != nil {
			steps = append(steps, p)
		}
	}
	for _, p := range steps {
		if m := s.ClientAuth(p.Name()); m != "" {
			if r.ClientAuth == nil {
				r.ClientAuth = map[string]string{}
			}
			r.ClientAuth[p.Name()] = m
		}
	}
	return r
}

// discoveryURLOf is where the engine reads an issuer's discovery document
// (engine.Strategy.DiscoveryURL once bound); the issuer as written in the
// file, for messages before that.
func discoveryURLOf(issuer string) string {
	if issuer == "" {
		issuer = "${issuer}"
	}
	return strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
}

// issuerEnv returns the unset environment variables the issuer reads,
// directly or through other variables.
func issuerEnv(sp *strategies.StrategyPlan) []string {
	vars := map[string]*strategies.Template{}
	for _, v := range sp.Variables() {
		vars[v.Name] = v.Value
	}
	var unset []string
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen[name] || vars[name] == nil {
			return
		}
		seen[name] = true
		for _, b := range vars[name].Bindings() {
			switch b.Source {
			case strategies.FromEnv:
				if _, ok := os.LookupEnv(b.Path); !ok && !slices.Contains(unset, b.Path) {
					unset = append(unset, b.Path)
				}
			case strategies.FromVariable:
				walk(b.Root)
			}
		}
	}
	walk(strategies.VarIssuer)
	return unset
}

// discoveryErrorKind classifies a failed discovery for --online's report.
func discoveryErrorKind(err error) string {
	var pe *engine.ProviderError
	msg := err.Error()
	switch {
	case errors.As(err, &pe) && pe.StatusCode != 0:
		return "http_status"
	case errors.Is(err, engine.ErrUnreachable) && (strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "Timeout")):
		return "timeout"
	case errors.Is(err, engine.ErrUnreachable):
		return "unreachable"
	case errors.Is(err, engine.ErrResponseTooLarge):
		return "too_large"
	case strings.Contains(msg, " names issuer "):
		return "wrong_issuer"
	case strings.Contains(msg, " names no "):
		return "missing_endpoint"
	case errors.Is(err, engine.ErrBadResponse):
		return "bad_response"
	}
	return "error"
}

// trimEngineError drops what the report line already says: the engine's
// "engine: FILE: strategy "NAME": " prefix and "discovery at URL".
func trimEngineError(err error, file, name, url string) string {
	msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("engine: %s: strategy %q: ", file, name))
	msg = strings.Replace(msg, "discovery at "+url+": ", "", 1)
	msg = strings.Replace(msg, "discovery at "+url+" ", "", 1)
	return msg
}
