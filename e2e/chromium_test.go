package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// newChromium starts a headless Chromium (bin) for the test, on parent,
// and returns its tab's context. The browser closes when the test ends,
// before its user data directory is removed; its output is shown when the
// test fails. With insecureTLS it accepts httptest's self-signed
// certificates.
func newChromium(t *testing.T, parent context.Context, bin string, insecureTLS bool) context.Context {
	t.Helper()
	// The browser's output, shown when the test fails; read after the
	// allocator has stopped the browser and copied the last of it.
	var browserLog bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() && browserLog.Len() > 0 {
			t.Logf("browser output:\n%s", browserLog.String())
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		// As root Chromium needs --no-sandbox; on a closed network the
		// background connections must be off (disable-background-networking
		// and disable-sync are in the defaults).
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// httptest's self-signed certificate, over https.
		chromedp.Flag("ignore-certificate-errors", insecureTLS),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 768),
		chromedp.CombinedOutput(&browserLog),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Registered after t.TempDir: runs before its removal (closes the
	// browser), then the allocator stops and the log is complete.
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancel)
	return ctx
}

// screenshots saves full-page screenshots of ctx's tab in dir, numbered in
// the order they are taken: NN-name.png.
type screenshots struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int // taken so far
}

// take saves the page as the next screenshot, named name.
func (s *screenshots) take(name string) {
	s.t.Helper()
	s.n++
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		s.t.Fatalf("screenshot %s: not a PNG or nearly empty (%d bytes)", name, len(png))
	}
	if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name)), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}
