package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/authflow/authflow/engine"
	"github.com/authflow/authflow/strategies"
)

// clientDeps is what `authflow token` and `authflow login` take from
// their surroundings; the zero value is the real ones. Tests replace the
// sleep between device polls and the HTTP client.
type clientDeps struct {
	sleep      func(ctx context.Context, d time.Duration) error // nil: a timer
	httpClient *http.Client                                     // nil: the engine's default
	lookupEnv  func(string) (string, bool)                      // nil: os.LookupEnv
}

// cliBaseURI is the base_uri of a strategy that names none, for the
// commands that run a login on this machine: a loopback login replaces
// ${redirect_uri} with its listener, and the other logins send none.
const cliBaseURI = "http://127.0.0.1"

// openStrategy loads file and binds strategy name alone (the file's other
// strategies need not have their environment set), reading its discovery
// document when it has an issuer. close ends the engine.
func openStrategy(ctx context.Context, file, name string, d clientDeps) (s *engine.Strategy, close func(), err error) {
	plan, err := strategies.Load(file)
	if err != nil {
		return nil, nil, err
	}
	sp := plan.Strategy(name)
	if sp == nil {
		return nil, nil, fmt.Errorf("%s has no strategy %q (it has: %v)", file, name, plan.Names())
	}
	// The merged definition compiles as it is: nothing is merged again.
	one, err := strategies.Compile(file, *sp.Definition())
	if err != nil {
		one = plan
	}
	e, err := engine.NewContext(ctx, one, engine.Options{HTTPClient: d.httpClient, LookupEnv: d.lookupEnv, Sleep: d.sleep, BaseURI: cliBaseURI})
	if err != nil {
		return nil, nil, err
	}
	return e.Strategy(name), e.Close, nil
}

// commandContext is the command's context, ended by Ctrl-C and by timeout.
func commandContext(cmd *cobra.Command, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancel(); stop() }
}

func newLoginCmd(d clientDeps) *cobra.Command {
	var timeout time.Duration
	var loopback bool
	cmd := &cobra.Command{
		Use:   "login FILE NAME",
		Short: "Log in with a strategy from the terminal and print the user object",
		Long: `Log in with strategy NAME of FILE from a terminal, and print the user object
(the jwt step's result, userinfo merged in) as JSON on stdout. This is the
quickest way to try a strategy file.

A strategy with a device_uri (the built-in oidc finds one in the discovery
document) uses the device authorization grant (RFC 8628): the link to open on
any device, or the address and the code to type there, go to stderr, and the
command polls the token step until the login is approved, denied or expires.
Any other strategy logs in through the browser with a loopback redirect (RFC
8252 §7.3): a listener on 127.0.0.1 at a free port is the redirect_uri, and the
URL to open goes to stderr; the identity provider must allow
http://127.0.0.1/<redirect_path> at any port. --loopback chooses the browser
login for a strategy that has both. The ID token is verified as in a server
login. Exit 1 when the login fails.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := commandContext(cmd, timeout)
			defer cancel()
			stderr := cmd.ErrOrStderr()
			fail := func(err error) error {
				fmt.Fprintln(stderr, "authflow login:", err)
				return exitError(1)
			}
			s, closeEngine, err := openStrategy(ctx, args[0], args[1], d)
			if err != nil {
				return fail(err)
			}
			defer closeEngine()
			var res *engine.Result
			switch {
			case s.ClientCredentials():
				return fail(fmt.Errorf("strategy %q is a client_credentials strategy: no user logs in; `authflow token %s %s` prints its token", args[1], args[0], args[1]))
			case s.CanDeviceLogin() && !(loopback && s.BrowserLogin()):
				res, err = deviceLogin(ctx, stderr, s)
			case s.BrowserLogin():
				res, err = loopbackLogin(ctx, stderr, s)
			default:
				err = fmt.Errorf("strategy %q has neither a device login nor a browser login (its discovery document names no device_authorization_endpoint)", args[1])
			}
			if err != nil {
				return fail(err)
			}
			var out []byte
			if out, err = json.MarshalIndent(res.User, "", "  "); err != nil {
				return fail(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Minute, "give up after this long")
	cmd.Flags().BoolVar(&loopback, "loopback", false, "log in through the browser (loopback redirect) even when the strategy has a device login")
	return cmd
}

// deviceLogin runs the device authorization grant, telling the user on w
// where to go.
func deviceLogin(ctx context.Context, w io.Writer, s *engine.Strategy) (*engine.Result, error) {
	da, err := s.StartDevice(ctx)
	if err != nil {
		return nil, err
	}
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "To sign in, open this link on any device:\n  %s\nand check that it shows the code %s.\n", da.VerificationURIComplete, da.UserCode)
	} else {
		fmt.Fprintf(w, "To sign in, open this address on any device:\n  %s\nand enter the code %s\n", da.VerificationURI, da.UserCode)
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(w, "The code is valid until %s.\n", da.Expiry.Format(time.Kitchen))
	}
	fmt.Fprintln(w, "Waiting for the sign-in...")
	res, err := s.PollDevice(ctx, da)
	if errors.Is(err, engine.ErrDeviceDenied) {
		return nil, errors.New("the sign-in was denied")
	}
	return res, err
}

// loopbackLogin runs a browser login through a listener on 127.0.0.1,
// telling the user on w which URL to open.
func loopbackLogin(ctx context.Context, w io.Writer, s *engine.Strategy) (*engine.Result, error) {
	lb, err := s.StartLoopback()
	if err != nil {
		return nil, err
	}
	defer lb.Close()
	fmt.Fprintf(w, "To sign in, open this URL in your browser on this machine:\n  %s\n", lb.URL())
	fmt.Fprintf(w, "Waiting for the sign-in at %s ...\n", lb.RedirectURI())
	return lb.Wait(ctx)
}
