package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newTokenCmd(d clientDeps) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "token FILE NAME",
		Short: "Print the access token of a client_credentials strategy",
		Long: `Run the token step of strategy NAME of FILE, a strategy with "grant_type":
"client_credentials", and print the access token alone on stdout, for scripts
and CI:

  curl -H "Authorization: Bearer $(authflow token strategies.json svc)" ...

Errors go to stderr, never the token; exit 1 when no token was obtained.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := commandContext(cmd, timeout)
			defer cancel()
			fail := func(err error) error {
				fmt.Fprintln(cmd.ErrOrStderr(), "authflow token:", err)
				return exitError(1)
			}
			s, closeEngine, err := openStrategy(ctx, args[0], args[1], d)
			if err != nil {
				return fail(err)
			}
			defer closeEngine()
			ts, err := s.TokenSource()
			if err != nil {
				return fail(fmt.Errorf("%w: `authflow login %s %s` logs a user in", err, args[0], args[1]))
			}
			tok, err := ts.AccessToken(ctx)
			if err != nil {
				return fail(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}
