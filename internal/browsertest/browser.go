// Package browsertest starts a headless Chromium for tests, driven by
// chromedp.
package browsertest

import (
	"context"
	_ "embed"
	"fmt"
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

// axeVersion is the axe-core release in testdata/axe.min.js, copied from
// its npm package by `task axe`.
const axeVersion = "4.14.1"

//go:embed testdata/axe.min.js
var axeSource string

// Violation is one accessibility rule axe-core found broken on a page.
type Violation struct {
	ID          string   `json:"id"`
	Impact      string   `json:"impact"`
	Description string   `json:"description"`
	Nodes       []string `json:"nodes"`
}

// Axe runs axe-core on the page the tab shows (WCAG 2 A and AA rules and
// best practices) and returns the serious and critical violations.
func Axe(ctx context.Context) ([]Violation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
		return nil, fmt.Errorf("load axe-core %s: %w", axeVersion, err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]Violation](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}
	}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, description: v.description,
			nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	return found, nil
}
