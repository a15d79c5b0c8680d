package edge

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"golang.org/x/crypto/bcrypt"
)

var testNow = time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)

// testSite is the demo site under another id and hostname. Private sites
// take the password "pw-private"; audience sites get audiences "auda"
// (password "pw-a", the first group) and "audb" ("pw-b", the second).
func testSite(id, host string, vis content.Visibility) *content.Site {
	s := demo.Site(testNow)
	s.ID, s.Hostnames, s.Visibility, s.Name = id, []string{host}, vis, "Site "+id
	var groups []string
	for _, c := range s.Components {
		if c.Group {
			groups = append(groups, c.ID)
		}
	}
	switch vis {
	case content.Private:
		s.Access.PasswordHash = mustHash("pw-private")
	case content.AudienceSpecific:
		s.Audiences = []*content.Audience{
			{ID: "auda", Name: "A", ComponentIDs: groups[:1], PasswordHash: mustHash("pw-a")},
			{ID: "audb", Name: "B", ComponentIDs: groups[1:2], PasswordHash: mustHash("pw-b")},
		}
	}
	return s
}

func mustHash(pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}

type testEdge struct {
	*Server
	addr   string
	client *http.Client
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// startEdge runs an edge on 127.0.0.1:0 against o and waits for the registry.
func startEdge(tb testing.TB, o *testOrigin, opts ...func(*Config)) *testEdge {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Origin = NewHTTPOrigin(o.url, testSecret, nil)
	cfg.SessionKey = testKey
	cfg.L1Bytes = 64 << 20
	cfg.BrotliLevel = 5
	cfg.VersionsWait = 2 * time.Second
	// A loaded test machine may take longer than production's bound for a
	// Redis call; a timeout would drop the write-behind the test waits for.
	cfg.RedisTimeout = 10 * time.Second
	// A visitor waits for the render: a test that wants the skeleton sets a
	// short budget and holds the render (testOrigin.Hold), so no answer
	// depends on whether a loaded machine rendered within 150 ms.
	cfg.RenderBudget = cfg.RenderTimeout
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, f := range opts {
		f(&cfg)
	}
	e := serveEdge(tb, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitReady(ctx); err != nil {
		tb.Fatal(err)
	}
	return e
}

// serveEdge runs an edge from cfg on 127.0.0.1:0, shut down at cleanup.
func serveEdge(tb testing.TB, cfg Config) *testEdge {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
	})
	return &testEdge{Server: s, addr: ln.Addr().String(), client: startEdgeClient()}
}

// startEdgeClient is an HTTP client that shows responses as sent: no
// transparent decompression, no redirects followed.
func startEdgeClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
	}
}

type resp struct {
	status int
	header http.Header
	body   string
}

// get requests path on host with extra headers ("Name: value").
func (e *testEdge) get(tb testing.TB, host, path string, headers ...string) resp {
	tb.Helper()
	return e.do(tb, http.MethodGet, host, path, nil, headers...)
}

func (e *testEdge) do(tb testing.TB, method, host, path string, form url.Values, headers ...string) resp {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "http://"+e.addr+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Host = host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	res, err := e.client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// postLogin posts the sign-in form as a browser does: it first gets the
// form (with the same headers) for its token and cookie.
func (e *testEdge) postLogin(tb testing.TB, host string, form url.Values, headers ...string) resp {
	tb.Helper()
	tok, cookie := e.loginToken(tb, host, headers...)
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set(loginField, tok)
	return e.do(tb, http.MethodPost, host, loginPath, f, append(headers, "Cookie: "+cookie)...)
}

// loginToken gets the sign-in form and returns its token and the cookie
// ("name=value") that goes with it.
func (e *testEdge) loginToken(tb testing.TB, host string, headers ...string) (token, cookie string) {
	tb.Helper()
	r := e.get(tb, host, loginPath, headers...)
	m := regexp.MustCompile(`name="` + loginField + `" value="([^"]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		tb.Fatalf("no token in the sign-in form: %d %.200q", r.status, r.body)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == loginCookie {
			return m[1], c.Name + "=" + c.Value
		}
	}
	tb.Fatalf("no %s cookie with the sign-in form: %v", loginCookie, r.header)
	return "", ""
}

// eventually polls f until it returns true or the deadline passes.
func eventually(tb testing.TB, d time.Duration, what string, f func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counter reads a counter's value.
func counter(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// gauge reads a gauge's value.
func gauge(g interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = g.Write(&m)
	return m.GetGauge().GetValue()
}
