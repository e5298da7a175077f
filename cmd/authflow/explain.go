package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
	"github.com/spf13/cobra"
)

func newExplainCmd() *cobra.Command {
	var online bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "explain FILE NAME",
		Short: "Show a strategy merged with its built-in default, and its step plan",
		Long: `Show a strategy merged with its built-in default (secrets masked) and its step
plan, with templates resolved as far as the file allows: custom variables and
literal keys filled in (POST https://dex.example/token, not ${dex_uri}/token),
while ${env.*}, ${discovery.*}, per-login values such as ${state} and secrets
stay placeholders. Nothing is fetched unless --online
is given: then a strategy with an "issuer" has its discovery document read as
the server reads it at start, and the plan follows again with ${discovery.*}
resolved and the steps the document leaves out marked. A discovery failure
exits 1.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := strategies.Load(args[0])
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return exitError(1)
			}
			sp := plan.Strategy(args[1])
			if sp == nil {
				return unknownStrategyError(args[0], args[1], plan.Names())
			}
			if err := strategies.Explain(cmd.OutOrStdout(), sp); err != nil {
				return err
			}
			if !online {
				return nil
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "\nonline:\n")
			if !sp.Discovery() {
				fmt.Fprintf(w, "  no issuer: nothing to discover; the plan above is the plan\n")
				return nil
			}
			r := discoverOne(cmd.Context(), plan.File(), sp, timeout)
			fmt.Fprintf(w, "  %s\n", r.line())
			if !r.OK {
				return exitError(1)
			}
			explainDiscovered(w, sp, r.strategy)
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "read the issuer's discovery document (network) and resolve ${discovery.*}")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "with --online: the limit for the discovery request")
	return cmd
}

// explainDiscovered writes the plan with ${discovery.*} resolved from the
// document the engine read: the URL each redirect and step goes to (its
// query as in the definition, not repeated), and the steps left out.
func explainDiscovered(w io.Writer, sp *strategies.StrategyPlan, s *engine.Strategy) {
	left := s.LeftOut()
	marked := func(owner string) bool {
		if m, ok := left[owner]; ok {
			fmt.Fprintf(w, "LEFT OUT: the discovery document names no %s\n", m)
			return true
		}
		return false
	}
	fmt.Fprintf(w, "plan with the discovery document's values:\n")
	fmt.Fprintf(w, "  login: redirect to %s\n", resolveBase(sp, sp.AuthURI(), s))
	for i, p := range sp.LoginSteps() {
		fmt.Fprintf(w, "    %d. %-10s ", i+1, p.Name())
		if !marked(p.Name()) {
			fmt.Fprintln(w, describeResolved(sp, p, s))
		}
	}
	for _, p := range append([]*strategies.StepPlan{sp.RefreshStep()}, sp.RevokeSteps()...) {
		if p == nil {
			continue
		}
		fmt.Fprintf(w, "  %s: ", p.Name())
		if !marked(p.Name()) {
			fmt.Fprintln(w, describeResolved(sp, p, s))
		}
	}
	if t := sp.LogoutURI(); t != nil {
		fmt.Fprintf(w, "  logout: ")
		if !marked(engine.StepLogout) {
			fmt.Fprintf(w, "redirect to %s\n", resolveBase(sp, t, s))
		}
	}
}

// describeResolved is one step of explainDiscovered.
func describeResolved(sp *strategies.StrategyPlan, p *strategies.StepPlan, s *engine.Strategy) string {
	if p.IsDecode() {
		if p.InsecureSkipVerify() {
			return "decode WITHOUT verification"
		}
		keys := "keys by discovery at the issuer"
		if p.JWKSURI() != nil {
			keys = "keys from " + resolveBase(sp, p.JWKSURI(), s)
		}
		iss := "(none)"
		if p.Issuer() != nil {
			iss = resolveBase(sp, p.Issuer(), s)
		}
		return fmt.Sprintf("decode; verify with %s, iss %s", keys, iss)
	}
	m := strings.ToUpper(p.Method())
	if m == "" {
		m = "GET"
	}
	desc := m + " " + resolveBase(sp, p.URI(), s)
	if a := s.ClientAuth(p.Name()); a != "" {
		desc += " with client auth " + a
	}
	return desc
}

// resolveBase returns a URI template up to its query, resolved as far as
// the file allows (sp.ResolveURI) and with each ${discovery.NAME} replaced
// by the document's value, the other placeholders as written, and "?…"
// for a query (shown, masked, in the definition). A password in the URL's
// userinfo is masked.
func resolveBase(sp *strategies.StrategyPlan, t *strategies.Template, s *engine.Strategy) string {
	if t == nil {
		return ""
	}
	src := sp.ResolveURI(t.String())
	base, query := splitLiteralQuery(src)
	for _, b := range t.Bindings() {
		if b.Source != strategies.FromDiscovery {
			continue
		}
		if v, ok := s.DiscoveryMember(b.Path); ok {
			base = strings.ReplaceAll(base, b.String(), v)
		}
	}
	base = maskUserinfo(base)
	if query {
		base += "?…"
	}
	return base
}

// splitLiteralQuery cuts a template at its first "?" outside a
// placeholder, and reports whether it has one.
func splitLiteralQuery(src string) (string, bool) {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch {
		case depth == 0 && strings.HasPrefix(src[i:], "${"):
			depth = 1
			i++
		case depth == 1 && src[i] == '}':
			depth = 0
		case depth == 0 && (src[i] == '?' || src[i] == '#'):
			return src[:i], true
		}
	}
	return src, false
}

// maskUserinfo replaces the password of scheme://user:password@host.
func maskUserinfo(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	start := len(u) - len(rest)
	authority := rest
	if i := strings.IndexAny(rest, "/"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return u
	}
	colon := strings.Index(authority[:at], ":")
	if colon < 0 {
		return u
	}
	return u[:start+colon+1] + strategies.Mask + u[start+at:]
}
