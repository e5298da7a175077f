package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/authflow/authflow/demo"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var addr, base, level string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the self-contained demo: a development IdP, authflow and a protected page, no account needed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, addr, base, level, cmd.OutOrStdout(), cmd.ErrOrStderr(), nil)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address HOST:PORT")
	cmd.Flags().StringVar(&base, "base-uri", "", "URL the browser uses (default http://ADDR)")
	cmd.Flags().StringVar(&level, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

// runDemo serves the demo until ctx ends. ready, when not nil, receives the
// listening address once the server listens (tests).
func runDemo(ctx context.Context, addr, base, level string, stdout, stderr io.Writer, ready chan<- string) error {
	log, err := newLogger(stderr, "text", level)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("demo: %w (choose another with --addr)", err)
	}
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	d, err := demo.New(demo.Options{BaseURI: base, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	hs := newHTTPServer(d, log)
	fmt.Fprintf(stdout, "authflow demo: open %s/ in a browser and sign in as demo / demo (Ctrl-C stops)\n", base)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	if err := serveUntilDone(ctx, hs, ln); err != nil {
		d.Close()
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	d.Close()
	return err
}
