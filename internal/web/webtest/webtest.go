// Package webtest runs web pages in a real browser for tests: one
// headless Chromium per test process (started on first use, stopped by
// Close from TestMain), and a fresh browser context (its own cookies and
// storage) for each test.
//
// Chromium must be installed (Debian: apt-get install chromium;
// scripts/test.sh installs it). Without it a test fails with that
// instruction: browser tests never skip.
package webtest

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds each test's use of the browser: a stuck page fails the
// test instead of hanging it.
const Timeout = 60 * time.Second

var (
	once     sync.Once
	browser  context.Context
	stop     func()
	startErr error
)

// start launches Chromium with the flags that work as root in a
// container: headless, no sandbox, no GPU, no background traffic.
func start() {
	path, err := exec.LookPath("chromium")
	if err != nil {
		startErr = fmt.Errorf("browser tests need Chromium, which is not installed: run apt-get update && apt-get install -y chromium (scripts/test.sh does): %w", err)
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1200, 900), chromedp.CombinedOutput(io.Discard))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	// The first action starts the browser, which lives as long as the
	// context it ran on: a deadline must cancel it only if it is stuck.
	stuck := time.AfterFunc(Timeout, cancelB)
	err = chromedp.Do(bctx)
	stuck.Stop()
	if err != nil {
		cancelB()
		cancelA()
		startErr = fmt.Errorf("starting Chromium at %s: %w", path, err)
		return
	}
	browser, stop = bctx, func() { cancelB(); cancelA() }
}

// Tab returns the context of a new tab in a new browser context, closed
// when the test ends, with Timeout.
func Tab(t testing.TB) context.Context {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		t.Fatal(startErr)
	}
	tab, cancelTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, Timeout)
	t.Cleanup(func() { cancel(); cancelTab() })
	return ctx
}

// Close stops the browser, if one started; TestMain calls it after
// m.Run.
func Close() {
	if stop != nil {
		stop()
	}
}
