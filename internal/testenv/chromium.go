package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which scripts/setup installs.
const ChromiumPath = "/usr/bin/chromium"

// ChromiumFlags are StartChromium's flags as one command line, for tools
// that start chromium themselves (Lighthouse's --chrome-flags).
const ChromiumFlags = "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run " +
	"--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage"

// Chromium is one headless Debian chromium for a whole test package. Start it
// in TestMain, open a fresh Tab per test, Close it after m.Run:
//
//	func TestMain(m *testing.M) {
//		c, err := testenv.StartChromium(context.Background())
//		if err != nil { fmt.Fprintln(os.Stderr, err); os.Exit(1) }
//		code := m.Run()
//		c.Close()
//		os.Exit(code)
//	}
type Chromium struct {
	dir           string // the fresh --user-data-dir, removed by Close
	cancelAlloc   context.CancelFunc
	browser       context.Context // the first tab; keeps the browser alive
	cancelBrowser context.CancelFunc
	closeOnce     sync.Once
}

// StartChromium starts headless chromium with a fresh temporary profile and
// waits until it answers on its DevTools pipe (bounded by ctx and 60 s).
func StartChromium(ctx context.Context) (*Chromium, error) {
	dir, err := os.MkdirTemp("", "statusedge-chromium-")
	if err != nil {
		return nil, fmt.Errorf("testenv: chromium profile dir: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(dir),
	}
	// The browser outlives ctx (which only bounds the start): it lives until Close.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	c := &Chromium{dir: dir, cancelAlloc: cancelAlloc, browser: browser, cancelBrowser: cancelBrowser}

	start, cancelStart := context.WithTimeout(ctx, 60*time.Second)
	defer cancelStart()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(browser) }() // the first Run starts the browser
	select {
	case err = <-done:
	case <-start.Done():
		err = start.Err()
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("testenv: start %s: %w", ChromiumPath, err)
	}
	return c, nil
}

// Close stops the browser and removes its profile directory. It is safe to
// call more than once.
func (c *Chromium) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.cancelBrowser()
		c.cancelAlloc() // waits for the browser process to exit
		// Chromium's helpers may still write into the profile for a moment.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if err = os.RemoveAll(c.dir); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			err = fmt.Errorf("testenv: remove chromium profile: %w", err)
		}
	})
	return err
}

// Tab is one fresh browser tab, with the errors the page reported.
type Tab struct {
	// Ctx runs chromedp actions in this tab.
	Ctx context.Context

	mu     sync.Mutex
	errors []string
}

// Tab opens a fresh tab for tb, recording console errors, uncaught exceptions
// and browser log errors (CSP violations, failed loads); tb's cleanup closes it.
// Tabs share cookies unless opts hold chromedp.WithNewBrowserContext() (a
// private window, disposed with the tab).
func (c *Chromium) Tab(tb testing.TB, opts ...chromedp.ContextOption) *Tab {
	tb.Helper()
	t := &Tab{}
	record := func(ev any) { // runs on the tab's read loop: only append

		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, remoteString(a))
				}
				t.add("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			t.add("exception: " + msg)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				t.add(fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	}
	ctx, cancel := chromedp.NewContext(c.browser, append(opts, chromedp.WithListener(record))...)
	t.Ctx = ctx
	if err := chromedp.Do(ctx); err != nil { // create the tab now
		cancel()
		tb.Fatalf("testenv: open chromium tab: %v", err)
	}
	tb.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			tb.Logf("testenv: close chromium tab: %v", err)
		}
		cancel()
	})
	return t
}

func (t *Tab) add(s string) {
	t.mu.Lock()
	t.errors = append(t.errors, s)
	t.mu.Unlock()
}

// Errors returns the errors the page reported so far.
func (t *Tab) Errors() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.errors...)
}

// Run runs actions in the tab, bounded by timeout.
func (t *Tab) Run(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(t.Ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

func remoteString(o *runtime.RemoteObject) string {
	switch {
	case o == nil:
		return ""
	case len(o.Value) > 0:
		return string(o.Value)
	case o.Description != "":
		return o.Description
	}
	return string(o.Type)
}
