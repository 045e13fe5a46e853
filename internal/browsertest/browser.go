// Package browsertest starts a headless Chromium for tests, driven by
// chromedp.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of Debian's chromium. Without it the test is
// skipped, unless SITE_REQUIRE_BROWSER=1 (CI), which makes it a failure.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SITE_REQUIRE_BROWSER") == "1" {
		tb.Fatal("chromium not found and SITE_REQUIRE_BROWSER=1")
	}
	tb.Skip("chromium not installed (apt-get install chromium); SITE_REQUIRE_BROWSER=1 makes this a failure")
	return ""
}

// Browser starts a headless Chromium driven by chromedp and returns a tab's
// context, cancelled (and the browser stopped) at the end of the test.
// Each call is a separate browser with its own cookies.
func Browser(tb testing.TB) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(tb)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // tests may run as root
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tb.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	tb.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first run starts the browser; it must not carry a timeout, which
	// would stop the whole browser (chromedp.Run).
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	// A whole test's steps, bounded so that a hang fails instead of
	// waiting for the test binary's timeout.
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	tb.Cleanup(cancelTime)
	return ctx
}
