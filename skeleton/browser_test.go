package skeleton_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/internal/testenv"
	"github.com/statusedge/statusedge/origin/render"
	"github.com/statusedge/statusedge/skeleton"
)

// browser is the package's one headless chromium (started by TestMain).
var browser *testenv.Chromium

func TestMain(m *testing.M) {
	c, err := testenv.StartChromium(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "skeleton tests need chromium:", err)
		os.Exit(1)
	}
	browser = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// origin serves one site the way an edge would in front of a slow origin:
// "/" is the skeleton shell (with its CSP) or, with full, the server render;
// the JSON and every other page are the real renderer's bytes. JSON answers
// wait until release is called, so a test can look at the shell before the
// page completes ("the origin is slower than the budget").
type origin struct {
	*httptest.Server
	site     *content.Site
	audience string
	now      time.Time
	sk       *skeleton.Skeleton
	r        *render.Renderer

	gate    chan struct{}
	release func()
	// csp, when set, replaces the shell's Content-Security-Policy.
	csp string
	// failJSON makes the JSON endpoints answer 503.
	failJSON bool
	// cache, when set, holds pre-rendered bytes by path (the edge's cache).
	cache map[string]cached
	// json, when set, replaces the renderer's answer for these paths.
	json map[string]string
	// session, when set, is the value of the session cookie every request
	// must carry (a private or audience page); others get 401.
	session string
	// delay is added to every response (a network round trip); fullDelay
	// more to the server render (a slow origin).
	delay, fullDelay time.Duration
}

type cached struct {
	body  []byte
	ctype string
}

type originOption func(*origin)

func withCSP(csp string) originOption     { return func(o *origin) { o.csp = csp } }
func withFailingJSON() originOption       { return func(o *origin) { o.failJSON = true } }
func withAudience(id string) originOption { return func(o *origin) { o.audience = id } }

// withCache pre-renders the pages the tests load, as an edge's cache holds
// them, so serving costs no render.
func withCache() originOption { return func(o *origin) { o.cache = map[string]cached{} } }

// sessionCookie is the cookie name withSession checks.
const sessionCookie = "statusedge_session"

func withJSON(byPath map[string]string) originOption { return func(o *origin) { o.json = byPath } }

func withSession(value string) originOption { return func(o *origin) { o.session = value } }

func withDelay(every, full time.Duration) originOption {
	return func(o *origin) { o.delay, o.fullDelay = every, full }
}

func released() originOption {
	return func(o *origin) { o.release() }
}

func newOrigin(tb testing.TB, site *content.Site, now time.Time, opts ...originOption) *origin {
	tb.Helper()
	sk, err := skeleton.New()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := render.New()
	if err != nil {
		tb.Fatal(err)
	}
	o := &origin{site: site, now: now, sk: sk, r: r, gate: make(chan struct{})}
	var once sync.Once
	o.release = func() { once.Do(func() { close(o.gate) }) }
	for _, opt := range opts {
		opt(o)
	}
	if o.cache != nil {
		for _, p := range []string{"/", skeleton.SummaryPath, skeleton.UptimePath, skeleton.IncidentsPath} {
			b, ctype, err := r.Render(site, o.audience, p, now)
			if err != nil {
				tb.Fatalf("pre-render %s: %v", p, err)
			}
			o.cache[p] = cached{b, ctype}
		}
	}
	mux := http.NewServeMux()
	wait := func(req *http.Request, d time.Duration) {
		if d > 0 {
			select {
			case <-time.After(d):
			case <-req.Context().Done():
			}
		}
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, req *http.Request) {
		wait(req, o.delay)
		if !o.admitted(w, req) {
			return
		}
		if req.URL.Query().Has("full") {
			wait(req, o.fullDelay)
			o.serveRendered(w, req, "/")
			return
		}
		e := o.site.Entry()
		csp := o.csp
		if csp == "" {
			csp = o.sk.ContentSecurityPolicy(e)
		}
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(o.sk.Shell(e, o.audience))
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, req *http.Request) {
		wait(req, o.delay)
		if !o.admitted(w, req) {
			return
		}
		if strings.HasSuffix(req.URL.Path, ".json") {
			select {
			case <-o.gate:
			case <-req.Context().Done():
				return
			}
			if o.failJSON {
				http.Error(w, "origin overloaded", http.StatusServiceUnavailable)
				return
			}
			if body, ok := o.json[req.URL.Path]; ok {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, body)
				return
			}
		}
		o.serveRendered(w, req, req.URL.RequestURI())
	})
	o.Server = httptest.NewServer(mux)
	tb.Cleanup(func() {
		o.release()
		o.Close()
	})
	return o
}

// admitted reports whether req carries the session (when one is needed),
// and answers 401 when not.
func (o *origin) admitted(w http.ResponseWriter, req *http.Request) bool {
	if o.session == "" {
		return true
	}
	if c, err := req.Cookie(sessionCookie); err == nil && c.Value == o.session {
		return true
	}
	http.Error(w, "sign in to see this page", http.StatusUnauthorized)
	return false
}

func (o *origin) serveRendered(w http.ResponseWriter, _ *http.Request, path string) {
	if c, ok := o.cache[path]; ok {
		w.Header().Set("Content-Type", c.ctype)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(c.body)
		return
	}
	b, ctype, err := o.r.Render(o.site, o.audience, path, o.now)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		http.NotFound(w, nil)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// pageModel is what a visitor reads on the page, extracted the same way from
// the completed skeleton and from the server render (origin/render's markup).
type pageModel struct {
	Status       string       `json:"status"`
	Components   [][2]string  `json:"components"` // name, status text, in page order
	Incidents    []eventModel `json:"incidents"`
	Maintenances []eventModel `json:"maintenances"`
	// Bars is every uptime day's class, in page order.
	Bars string `json:"bars"`
	// Titles are, for every bar's disclosure, its legend (with the
	// accessible name), every day's tooltip and every day's list item.
	Titles string `json:"titles"`
	// Main and Footer are all the text a visitor reads.
	Main   string `json:"main"`
	Footer string `json:"footer"`
}

type eventModel struct {
	Name    string      `json:"name"`
	Updates [][2]string `json:"updates"` // status text, body text
}

// extractJS reads a pageModel from the page. Whitespace is collapsed: the
// renderer's templates and the script lay out text nodes differently.
const extractJS = `(() => {
  const t = (e) => e ? e.innerText.replace(/\s+/g, " ").trim() : "";
  const events = (sel) => [...document.querySelectorAll(sel)].map(x => ({
    name: t(x.querySelector("h3")),
    updates: [...x.querySelectorAll(".update")].map(u => [t(u.querySelector(".update-status")), t(u.querySelector(".body"))]),
  }));
  return {
    status: t(document.querySelector("#overall .status-description")),
    components: [...document.querySelectorAll("#components .component")].map(c => [t(c.querySelector(".row .name")), t(c.querySelector(".row .status"))]),
    incidents: events("#incidents .incident"),
    maintenances: events("#maintenances .maintenance"),
    bars: [...document.querySelectorAll("#components svg.uptime-bar rect")].map(r => r.getAttribute("class")).join(""),
    titles: [...document.querySelectorAll("#components .daily")].map(e => [
      e.tagName + (e.open ? " open" : ""), t(e.querySelector(".uptime-legend")),
      ...[...e.querySelectorAll("svg title")].map(x => x.textContent),
      ...[...e.querySelectorAll(".days li")].map(x => x.className + " " + x.innerHTML)].join(" / ")).join(" | "),
    main: t(document.querySelector("main")),
    footer: t(document.querySelector("footer")),
  };
})()`

// clsObserverJS runs before any page script: it sums the layout shifts the
// page makes (the CLS definition: shifts without recent input).
const clsObserverJS = `window.__cls = 0; window.__shifts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (!e.hadRecentInput) { window.__cls += e.value; window.__shifts.push(e.value); }
  }
}).observe({type: "layout-shift", buffered: true});`

// settledJS waits two frames and a beat, so late layout-shift entries arrive.
const settledJS = `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => r(window.__cls), 100))))`

const (
	stepTimeout = 30 * time.Second
	completeJS  = `document.getElementById("main") && document.getElementById("main").dataset.skeleton === "complete"`
)

func artifactDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("STATUSEDGE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "statusedge-artifacts")
	}
	dir = filepath.Join(dir, "skeleton")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// saveScreenshot saves the whole page as a PNG artifact and returns it.
func saveScreenshot(tb testing.TB, tab *testenv.Tab, name string) []byte {
	return screenshot(tb, tab, name, chromedp.FullScreenshot(100))
}

// saveViewport saves what is on screen. Unlike saveScreenshot it does not
// resize the viewport, which would hide later layout shifts from the
// PerformanceObserver.
func saveViewport(tb testing.TB, tab *testenv.Tab, name string) []byte {
	return screenshot(tb, tab, name, chromedp.CaptureScreenshot())
}

func screenshot(tb testing.TB, tab *testenv.Tab, name string, shoot chromedp.Action[[]byte]) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, shoot)
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(artifactDir(tb), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("screenshot: %s", p)
	return png
}

// pixelDiff is the share of pixels that differ between two PNG screenshots
// (1 when their sizes differ).
func pixelDiff(tb testing.TB, a, b []byte) float64 {
	tb.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		tb.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		tb.Logf("screenshot sizes differ: %v and %v", ia.Bounds(), ib.Bounds())
		return 1
	}
	r := ia.Bounds()
	diff := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if ia.At(x, y) != ib.At(x, y) {
				diff++
			}
		}
	}
	return float64(diff) / float64(r.Dx()*r.Dy())
}

func run[T any](tb testing.TB, tab *testenv.Tab, what string, a chromedp.Action[T]) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.Fatalf("%s: %v (page errors: %q)", what, err, tab.Errors())
	}
	return v
}

func eval[T any](tb testing.TB, tab *testenv.Tab, expr string) T {
	tb.Helper()
	return run(tb, tab, "evaluate "+firstLine(expr), chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// serverModel loads the server render (?full) in a fresh tab.
func serverModel(t *testing.T, o *origin, shot string) (pageModel, []byte) {
	t.Helper()
	tab := browser.Tab(t)
	run(t, tab, "navigate to the server render", chromedp.Navigate(o.URL+"/?full"))
	m := eval[pageModel](t, tab, extractJS)
	return m, saveScreenshot(t, tab, shot)
}

func demoNow() time.Time { return time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC) }

// geometryJS is the box of the component list and of the page body.
const geometryJS = `(() => {
  const r = (sel) => { const e = document.querySelector(sel); if (!e) return null; const b = e.getBoundingClientRect(); return [b.top, b.height]; };
  return {components: r("#components"), header: r("header.site")};
})()`

type geometry struct {
	Components []float64 `json:"components"`
	Header     []float64 `json:"header"`
}

// quietSite is the demo with nothing going on: no active incident, no
// maintenance (the common case).
func quietSite(now time.Time) *content.Site {
	s := demo.Site(now)
	s.Incidents = s.Incidents[1:] // the resolved one stays
	s.Maintenances = nil
	for _, c := range s.Components {
		c.Status = content.Operational
	}
	return s
}

// TestSkeletonCompletesLikeServerRender is the skeleton's contract: with the
// origin slower than the budget, the shell is on screen at once (CSP with the
// script's hash, placeholders), and once the JSON arrives the page reads and
// looks like the server render, without layout shift or console errors.
func TestSkeletonCompletesLikeServerRender(t *testing.T) {
	now := demoNow()
	for _, tc := range []struct {
		name string
		site *content.Site
		// quiet: the shell knows the page has no incident above the
		// components, so they must not move at all.
		quiet bool
	}{
		{"demo", demo.Site(now), false},
		{"quiet", quietSite(now), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrigin(t, tc.site, now)
			want, wantShot := serverModel(t, o, "server-render-"+tc.name+".png")
			if len(want.Components) < 8 || !tc.quiet && (len(want.Incidents) == 0 || len(want.Incidents[0].Updates) < 2 || len(want.Maintenances) == 0) {
				t.Fatalf("the server render lacks the site's content (extraction out of date?): %+v", want)
			}

			tab := browser.Tab(t)
			run(t, tab, "install the layout-shift observer", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: clsObserverJS})
				return err
			}))
			resp := run(t, tab, "navigate to the shell", chromedp.NavigateResponse(o.URL+"/"))
			csp, _ := resp.Headers["Content-Security-Policy"].(string)
			if !strings.Contains(csp, "script-src "+o.sk.ScriptHash()) || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP header %q: want script-src %s and no unsafe-inline", csp, o.sk.ScriptHash())
			}

			// The origin is slow: the shell is on screen with its placeholders.
			if state := eval[string](t, tab, `document.getElementById("main").dataset.skeleton`); state != "pending" {
				t.Fatalf("before the JSON arrives the page is %q, want pending", state)
			}
			before := eval[geometry](t, tab, geometryJS)
			saveViewport(t, tab, "skeleton-shell-"+tc.name+".png")

			o.release()
			run(t, tab, "wait for the skeleton to complete", chromedp.Poll[bool](completeJS, chromedp.WithPollingTimeout(stepTimeout)))
			got := eval[pageModel](t, tab, extractJS)
			cls := eval[float64](t, tab, settledJS)
			after := eval[geometry](t, tab, geometryJS)
			gotShot := saveScreenshot(t, tab, "skeleton-completed-"+tc.name+".png")

			if diff := modelDiff(want, got); diff != "" {
				t.Errorf("completed skeleton differs from the server render:\n%s", diff)
			}
			t.Logf("cumulative layout shift while completing: %.4f", cls)
			if cls >= 0.1 {
				shifts := eval[[]float64](t, tab, `window.__shifts`)
				t.Errorf("cumulative layout shift %.4f (shifts %v), want < 0.1", cls, shifts)
			}
			// Looks the same: the full-page screenshots agree pixel for
			// pixel, but for a little anti-aliasing.
			if d := pixelDiff(t, wantShot, gotShot); d > 0.001 {
				t.Errorf("the completed skeleton's screenshot differs from the server render's in %.2f%% of pixels", 100*d)
			}
			if !slices.Equal(before.Header, after.Header) || len(before.Header) != 2 {
				t.Errorf("header moved: %v → %v", before.Header, after.Header)
			}
			// The placeholder rows reserve the real rows' space.
			if len(before.Components) != 2 || len(after.Components) != 2 || before.Components[1] != after.Components[1] {
				t.Errorf("component list height: placeholders %v, completed %v; want equal", before.Components, after.Components)
			}
			if tc.quiet && before.Components[0] != after.Components[0] {
				t.Errorf("component list moved from %v to %v on a quiet page", before.Components[0], after.Components[0])
			}
			if errs := tab.Errors(); len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}
		})
	}
}

func modelDiff(want, got pageModel) string {
	var b strings.Builder
	if want.Status != got.Status {
		fmt.Fprintf(&b, "status: want %q, got %q\n", want.Status, got.Status)
	}
	if !slices.Equal(want.Components, got.Components) {
		fmt.Fprintf(&b, "components:\n want %q\n got  %q\n", want.Components, got.Components)
	}
	if want.Bars != got.Bars {
		fmt.Fprintf(&b, "uptime bars:\n want %s\n got  %s\n", want.Bars, got.Bars)
	}
	for _, k := range []struct{ what, want, got string }{
		{"main text", want.Main, got.Main}, {"footer text", want.Footer, got.Footer}, {"uptime tooltips", want.Titles, got.Titles},
	} {
		if k.want != k.got {
			i := 0
			for i < len(k.want) && i < len(k.got) && k.want[i] == k.got[i] {
				i++
			}
			fmt.Fprintf(&b, "%s differs at byte %d:\n want …%s\n got  …%s\n", k.what, i, clip(k.want, i), clip(k.got, i))
		}
	}
	for _, k := range []struct {
		what      string
		want, got []eventModel
	}{{"incidents", want.Incidents, got.Incidents}, {"maintenances", want.Maintenances, got.Maintenances}} {
		w, _ := json.MarshalIndent(k.want, " ", " ")
		g, _ := json.MarshalIndent(k.got, " ", " ")
		if string(w) != string(g) {
			fmt.Fprintf(&b, "%s:\n want %s\n got  %s\n", k.what, w, g)
		}
	}
	return b.String()
}

func clip(s string, i int) string {
	s = s[max(0, i-60):]
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// withAudienceSite is the demo site with an audience that sees the Compute
// group and the API.
func withAudienceSite(now time.Time) (*content.Site, string) {
	s := demo.Site(now)
	var ids []string
	for _, c := range s.Components {
		if c.Name == "Compute" || c.Name == "API" {
			ids = append(ids, c.ID)
		}
	}
	s.Audiences = []*content.Audience{{ID: "aud000000001", Name: "Enterprise", ComponentIDs: ids}}
	return s, "aud000000001"
}

// TestAudienceSkeleton loads an audience's page behind a session cookie: the
// shell lists only the audience's components, and the script's fetches carry
// the cookie (the origin answers 401 without it) to complete the page as the
// audience's server render.
func TestAudienceSkeleton(t *testing.T) {
	now := demoNow()
	site, aud := withAudienceSite(now)
	o := newOrigin(t, site, now, withAudience(aud), withSession("s3cret-session"))
	signIn := func(tab *testenv.Tab) {
		run(t, tab, "set the session cookie", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: "s3cret-session", URL: o.URL})
			return err
		}))
	}
	names := func(m [][2]string) []string {
		var out []string
		for _, c := range m {
			out = append(out, c[0])
		}
		return out
	}
	wantNames := []string{"Core Platform", "API", "Compute", "Virtual Machines", "Kubernetes", "Serverless Functions", "Object Storage"}

	tab := browser.Tab(t)
	signIn(tab)
	run(t, tab, "navigate to the audience shell", chromedp.Navigate(o.URL+"/"))
	if state := eval[string](t, tab, `document.getElementById("main").dataset.skeleton`); state != "pending" {
		t.Fatalf("before the JSON arrives the page is %q, want pending", state)
	}
	shell := eval[pageModel](t, tab, extractJS)
	if got := names(shell.Components); !slices.Equal(got, wantNames) {
		t.Errorf("the audience shell lists %q, want only %q", got, wantNames)
	}
	o.release()
	run(t, tab, "wait for the skeleton to complete", chromedp.Poll[bool](completeJS, chromedp.WithPollingTimeout(stepTimeout)))
	got := eval[pageModel](t, tab, extractJS)
	gotShot := saveScreenshot(t, tab, "skeleton-completed-audience.png")
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}

	serverTab := browser.Tab(t)
	signIn(serverTab)
	run(t, serverTab, "navigate to the server render", chromedp.Navigate(o.URL+"/?full"))
	want := eval[pageModel](t, serverTab, extractJS)
	wantShot := saveScreenshot(t, serverTab, "server-render-audience.png")

	if diff := modelDiff(want, got); diff != "" {
		t.Errorf("completed audience skeleton differs from the audience's server render:\n%s", diff)
	}
	if d := pixelDiff(t, wantShot, gotShot); d > 0.001 {
		t.Errorf("the completed audience skeleton's screenshot differs from the server render's in %.2f%% of pixels", 100*d)
	}
	if got := names(got.Components); !slices.Equal(got, wantNames) {
		t.Errorf("the completed audience page lists %q, want only %q", got, wantNames)
	}

	// Without the cookie there is nothing to complete with: the adversarial row.
	anon := browser.Tab(t, chromedp.WithNewBrowserContext())
	run(t, anon, "navigate without a session", chromedp.Navigate(o.URL+"/api/v2/summary.json"))
	if body := eval[string](t, anon, `document.body.innerText`); !strings.Contains(body, "sign in") {
		t.Errorf("the summary answered without a session: %.80q", body)
	}
}

// TestScriptRunsOnlyByItsHash serves the shell with a CSP whose script hash
// is wrong: the browser must block the script (so the right hash is what
// lets it run in the other tests), and report the violation.
func TestScriptRunsOnlyByItsHash(t *testing.T) {
	now := demoNow()
	o := newOrigin(t, demo.Site(now), now, released(),
		withCSP("default-src 'none'; script-src 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='; style-src 'unsafe-inline'; connect-src 'self'"))
	tab := browser.Tab(t)
	run(t, tab, "navigate to the shell", chromedp.Navigate(o.URL+"/"))
	deadline := time.Now().Add(10 * time.Second)
	for !slices.ContainsFunc(tab.Errors(), func(e string) bool { return strings.Contains(e, "Content Security Policy") }) {
		if time.Now().After(deadline) {
			t.Fatalf("no CSP violation reported with a wrong hash; page errors: %q", tab.Errors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if state := eval[string](t, tab, `document.getElementById("main").dataset.skeleton`); state != "pending" {
		t.Errorf("with a wrong hash the script ran anyway: page is %q", state)
	}
}

func TestNoScriptNotice(t *testing.T) {
	now := demoNow()
	o := newOrigin(t, demo.Site(now), now, released())
	tab := browser.Tab(t)
	run(t, tab, "disable JavaScript", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	run(t, tab, "navigate to the shell", chromedp.Navigate(o.URL+"/"))
	// With scripting off, <noscript> content is part of the DOM; read it
	// through the DOM domain (Evaluate would need script).
	html := run(t, tab, "read the body", chromedp.OuterHTML(chromedp.CSS("main")))
	for _, want := range []string{`href="/api/v2/summary.json"`, `href="/history.atom"`, "JavaScript is off"} {
		if !strings.Contains(html, want) {
			t.Errorf("without JavaScript the page lacks %s:\n%s", want, html)
		}
	}
	saveScreenshot(t, tab, "skeleton-noscript.png")
}

// TestInsertsTextNotHTML feeds the script hostile content: names and update
// bodies full of markup and script URLs must show as text, run nothing and
// create no elements beyond the Markdown subset.
func TestInsertsTextNotHTML(t *testing.T) {
	now := demoNow()
	s := demo.Site(now)
	evil := `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`
	s.Components[1].Name = "API " + evil
	s.Incidents[0].Name = "Outage " + evil
	s.Incidents[0].Updates[0].Body = "Body " + evil + "\n\n[click](javascript:window.__pwned=3) <a href=\"javascript:window.__pwned=4\">x</a> **bold** `code`"
	o := newOrigin(t, s, now, released())
	tab := browser.Tab(t)
	run(t, tab, "navigate to the shell", chromedp.Navigate(o.URL+"/"))
	run(t, tab, "wait for the skeleton to complete", chromedp.Poll[bool](completeJS, chromedp.WithPollingTimeout(stepTimeout)))
	type probe struct {
		Pwned   bool     `json:"pwned"`
		Imgs    int      `json:"imgs"`
		Scripts int      `json:"scripts"`
		Hrefs   []string `json:"hrefs"`
		Name    string   `json:"name"`
		Strong  int      `json:"strong"`
	}
	p := eval[probe](t, tab, `(() => ({
	  pwned: window.__pwned !== undefined,
	  imgs: document.querySelectorAll("main img").length,
	  scripts: document.querySelectorAll("main script").length,
	  hrefs: [...document.querySelectorAll("main a")].map(a => a.getAttribute("href")).filter(h => !/^(\/|https?:)/.test(h)),
	  name: document.querySelector("#incidents .incident h3").textContent.trim(),
	  strong: document.querySelectorAll("#incidents .body strong").length,
	}))()`)
	if p.Pwned || p.Imgs != 0 || p.Scripts != 0 || len(p.Hrefs) != 0 {
		t.Errorf("hostile content became markup: %+v", p)
	}
	if !strings.Contains(p.Name, "<img src=x") {
		t.Errorf("incident name %q: want the markup shown as text", p.Name)
	}
	if p.Strong == 0 {
		t.Errorf("the Markdown subset (**bold**) was not rendered")
	}
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

func TestFailingOriginShowsNotice(t *testing.T) {
	now := demoNow()
	o := newOrigin(t, demo.Site(now), now, released(), withFailingJSON())
	tab := browser.Tab(t)
	run(t, tab, "navigate to the shell", chromedp.Navigate(o.URL+"/"))
	run(t, tab, "wait for the failure notice", chromedp.Poll[bool](`document.getElementById("main").dataset.skeleton === "failed"`,
		chromedp.WithPollingTimeout(stepTimeout)))
	msg := eval[string](t, tab, `document.getElementById("overall").textContent`)
	if !strings.Contains(msg, "could not be loaded") {
		t.Errorf("failure notice %q", msg)
	}
	if n := eval[int](t, tab, `document.querySelectorAll("#components .component").length`); n == 0 {
		t.Errorf("the placeholder layout went away on failure")
	}
}

// TestToleratesOddJSON feeds the script answers the renderer would not give:
// the page must complete (or say it failed) without an exception, and odd
// values must not become classes or markup.
func TestToleratesOddJSON(t *testing.T) {
	now := demoNow()
	for _, tc := range []struct {
		name, summary, uptime string
		state                 string // the page's final data-skeleton
	}{
		{"empty object", `{}`, `{}`, "complete"},
		{"an array", `[]`, `[]`, "complete"},
		{"nulls everywhere", `{"page":null,"status":null,"components":null,"incidents":null,"scheduled_maintenances":null}`, `null`, "complete"},
		{"unknown values", `{"page":{"name":"P","time_zone":"Mars/Olympus"},"status":{"indicator":"x\" onclick=\"1","description":"D"},
		  "components":[{"id":"a","name":null,"status":"exploded","position":1,"showcase":true,"description":null},
		                {"id":"b","name":"Child","status":"major_outage","group_id":"nope","position":2}],
		  "incidents":[{"id":"i/../x","name":"N","status":"weird","impact":"catastrophic","components":null,
		                "incident_updates":[{"id":"u","status":null,"body":null,"display_at":"not a date","affected_components":null}]}],
		  "scheduled_maintenances":[{"id":"m","name":"M","status":"in_progress","scheduled_for":"","scheduled_until":null,"incident_updates":null}]}`,
			`{"components":[{"id":"a","uptime":2,"daily":[{"date":"2026-01-01","uptime":null,"worst":"bogus"}]}]}`, "complete"},
		{"not JSON", `<html>`, `<html>`, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrigin(t, demo.Site(now), now, released(), withJSON(map[string]string{
				skeleton.SummaryPath: tc.summary, skeleton.UptimePath: tc.uptime, skeleton.IncidentsPath: tc.uptime,
			}))
			tab := browser.Tab(t)
			run(t, tab, "navigate to the shell", chromedp.Navigate(o.URL+"/"))
			state := run(t, tab, "wait for the script to finish", chromedp.Poll[string](
				`(s => s !== "pending" && s)(document.getElementById("main").dataset.skeleton)`, chromedp.WithPollingTimeout(stepTimeout)))
			if state != tc.state {
				t.Errorf("page ended %q, want %q", state, tc.state)
			}
			classes := eval[[]string](t, tab, `[...document.querySelectorAll("main [class]")].map(e => e.getAttribute("class")).filter(c => /[^a-z0-9_ -]/.test(c))`)
			if len(classes) > 0 {
				t.Errorf("odd classes reached the page: %q", classes)
			}
			if errs := tab.Errors(); len(errs) > 0 {
				t.Errorf("page errors: %q", errs)
			}
		})
	}
}

// focusState is where the keyboard focus is.
type focusState struct {
	Tag       string `json:"tag"`
	Seen      bool   `json:"seen"`      // focused before in this walk
	Bar       bool   `json:"bar"`       // a bar's summary (details.daily > summary)
	InDays    bool   `json:"inDays"`    // inside a bar's list of days
	Component string `json:"component"` // the name of the component it is in
	Outline   string `json:"outline"`   // its computed outline style and width
	Open      bool   `json:"open"`      // its bar's daily detail is open
	Days      int    `json:"days"`      // the list items of its bar's days shown (laid out)
	FirstDay  string `json:"firstDay"`  // the first shown day's text
}

const focusJS = `(() => {
  const a = document.activeElement;
  if (!a || a === document.body) return {tag: a ? a.tagName : ""};
  const seen = a.dataset.seen === "1"; a.dataset.seen = "1";
  const c = a.closest("li.component"), d = a.closest("details.daily"), s = getComputedStyle(a);
  const days = d ? [...d.querySelectorAll(".days li")].filter(li => li.checkVisibility()) : [];
  return {tag: a.tagName, seen, bar: a.matches("details.daily > summary"), inDays: !!a.closest(".days"),
    component: c ? c.querySelector(".name").textContent : "", outline: s.outlineStyle + " " + s.outlineWidth,
    open: !!(d && d.open), days: days.length, firstDay: days.length ? days[0].innerText : ""};
})()`

// TestKeyboardReachesEachDay walks the server render (which has no script)
// with the keyboard, as issue 4 asks for each day of the uptime bars: every
// bar is one tab stop with a visible focus ring; Enter discloses its days
// (date, uptime and incidents, the incidents as links, which Tab reaches
// next); closed again, Tab goes on to the next bar, not through 90 days.
func TestKeyboardReachesEachDay(t *testing.T) {
	now := demoNow()
	o := newOrigin(t, demo.Site(now), now, released())
	tab := browser.Tab(t)
	run(t, tab, "navigate to the server render", chromedp.Navigate(o.URL+"/?full"))
	bars := eval[int](t, tab, `document.querySelectorAll("#components details.daily > summary").length`)
	links := eval[int](t, tab, `document.querySelectorAll("a[href]").length`)
	press := func(key string, opts ...chromedp.KeyOption) focusState {
		t.Helper()
		run(t, tab, "press "+strconv.Quote(key), chromedp.KeyEvent(key, opts...))
		return eval[focusState](t, tab, focusJS)
	}

	// The whole page, Tab by Tab.
	var stops []focusState
	for range 500 {
		f := press("\t")
		if f.Seen || f.Tag == "BODY" || f.Tag == "" {
			break
		}
		stops = append(stops, f)
	}
	var barStops []string
	for _, f := range stops {
		switch {
		case f.InDays:
			t.Errorf("Tab reached a day of %s while its detail is closed", f.Component)
		case f.Bar:
			barStops = append(barStops, f.Component)
			if strings.HasPrefix(f.Outline, "none") || strings.HasSuffix(f.Outline, " 0px") {
				t.Errorf("the focused bar of %s has no visible focus ring (outline %q)", f.Component, f.Outline)
			}
		}
	}
	t.Logf("%d tab stops on the page, %d of them bars (%d links in the page, some in closed details)", len(stops), len(barStops), links)
	if len(barStops) != bars || bars < 8 {
		t.Errorf("Tab reached %d bars (%q), the page has %d", len(barStops), barStops, bars)
	}
	if len(stops) > links+bars+10 {
		t.Errorf("%d tab stops for %d links and %d bars", len(stops), links, bars)
	}

	// The API's bar: open its detail and reach its incident.
	run(t, tab, "reload", chromedp.Navigate(o.URL+"/?full"))
	var f focusState
	for range 200 {
		if f = press("\t"); f.Bar && f.Component == "API" {
			break
		}
	}
	if !f.Bar || f.Component != "API" || f.Open || f.Days != 0 {
		t.Fatalf("Tab did not reach the API's bar, closed: %+v", f)
	}
	f = press("\r")
	if !f.Bar || !f.Open || f.Days != 90 || !strings.HasPrefix(f.FirstDay, "2026-08-27: ") {
		t.Fatalf("Enter on the API's bar: %+v, want its detail open with 90 days shown", f)
	}
	saveScreenshot(t, tab, "keyboard-daily-detail.png")
	if f = press("\t"); !f.InDays || f.Tag != "A" || f.Component != "API" {
		t.Errorf("Tab after opening the API's days reached %+v, want the link to its incident", f)
	}
	if f = press("\t", chromedp.KeyModifiers(chromedp.ModifierShift)); !f.Bar || f.Component != "API" {
		t.Errorf("Shift+Tab went to %+v, want back to the API's bar", f)
	}
	if f = press(" "); !f.Bar || f.Open || f.Days != 0 {
		t.Errorf("Space on the open bar: %+v, want it closed", f)
	}
	if f = press("\t"); !f.Bar || f.Component != "Dashboard" {
		t.Errorf("Tab after closing the API's days reached %+v, want the Dashboard's bar", f)
	}
}
