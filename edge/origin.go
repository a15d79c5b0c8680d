package edge

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statusedge/statusedge/content"
)

// Origin is what the edge calls on its region's origin replica (the internal
// API of docs/API.md §2).
type Origin interface {
	// Registry returns every site's routing, access and layout entry.
	Registry(ctx context.Context) (content.Registry, error)
	// Render renders one page at MinVersion or newer.
	Render(ctx context.Context, r RenderRequest) (Rendered, error)
	// Entry returns one site's registry entry (ErrNotFound: no such site).
	// With tag (content.RegistryEntry.Tag of the entry the edge holds), the origin may answer
	// that this entry is still the site's: Unchanged, with the site's
	// Version now.
	Entry(ctx context.Context, siteID, tag string) (EntryAnswer, error)
	// Versions blocks until the registry version passes after (or wait
	// elapses) and returns the per-site versions: with after > 0, those
	// changed since after (a Delta) when the origin can tell.
	Versions(ctx context.Context, after uint64, wait time.Duration) (Versions, error)
}

// RenderRequest names one page.
type RenderRequest struct {
	SiteID   string
	Path     string // normalized, with "?page=N" when present
	Audience string // "" for the whole site, else an audience id
	// Viewer is who the page is for: "public", "private" or "audience".
	// The origin refuses a viewer the site's current rules do not admit.
	Viewer     string
	MinVersion uint64
	// At is the moment the page is asked for (zero: the origin's now).
	At time.Time
}

// Rendered is a page as the origin produced it.
type Rendered struct {
	ContentType string
	Version     uint64
	Body        []byte
	// Live says the site was live at Version (X-Statusedge-Live): the page
	// holds for the minute of the request's At only.
	Live bool
}

// Versions is the long poll's answer. Applied is a log index the replica
// had applied when it read Sites (0: not said): a site version at or below
// Applied that Sites does not reach does not exist.
type Versions struct {
	Version uint64            `json:"version"`
	Applied uint64            `json:"applied"`
	Sites   map[string]uint64 `json:"sites"`
	// Delta: Sites holds only the sites changed after the version asked
	// for, and Removed the sites deleted after it (an origin that cannot
	// say, or from before deltas, answers with every site).
	Delta   bool     `json:"delta,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Errors from an Origin that the edge branches on.
var (
	// ErrNotFound: the site has no such page (cached as a 404).
	ErrNotFound = errors.New("edge: page not found")
	// ErrForbidden: the site has no such audience.
	ErrForbidden = errors.New("edge: audience not allowed")
	// ErrUnavailable: the origin could not answer (down, behind, 5xx).
	ErrUnavailable = errors.New("edge: origin unavailable")
	// ErrUnauthorized: the origin refused the edge's secret (401). Retrying
	// cannot help: the edge stops (see Server.Err).
	ErrUnauthorized = errors.New("edge: origin refused the edge secret")
)

// Pinger is an Origin that can tell cheaply whether any of its replicas
// answers. An edge whose Origin is one pings it, and marks every page
// stale when none has answered for Config.StaleAfter.
type Pinger interface {
	Ping(ctx context.Context) error
}

// HTTPOrigin calls an origin's internal API over HTTP: the region's replica
// first, then (when it cannot answer) the fallbacks in order. A replica
// that hangs (stopped, not refusing connections) is found within about
// two HungAfter: a call still unanswered after HungAfter asks the same
// replica GET /livez with that bound, and if that gets no answer either,
// the call moves on to the next replica (a long poll too), and the replica
// is tried last until it answers a ping again.
type HTTPOrigin struct {
	bases  []*originBase
	secret string
	client *http.Client
	// maxBody bounds a rendered page (maxPage; tests lower it).
	maxBody int64
	// hungAfter is HungAfter (tests may lower it).
	hungAfter time.Duration
}

// HungAfter is how long a call may go unanswered before the edge checks
// whether the replica still answers at all (see HTTPOrigin).
const HungAfter = time.Second

// originBase is one replica's URL and whether it looked hung or down the
// last time it was asked.
type originBase struct {
	url  string
	sick atomic.Bool
}

// NewHTTPOrigin returns an Origin for the replica at base (e.g.
// "http://127.0.0.1:8080"), authenticated with the edge (or cluster)
// secret, falling back to the replicas at fallbacks (other regions') for
// any call base cannot answer (no connection, a 5xx, or hung). A nil
// client means a dedicated one with sane timeouts.
func NewHTTPOrigin(base, secret string, client *http.Client, fallbacks ...string) *HTTPOrigin {
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		tr.ResponseHeaderTimeout = time.Minute
		client = &http.Client{Transport: tr}
	}
	o := &HTTPOrigin{secret: secret, client: client, maxBody: maxPage, hungAfter: HungAfter}
	for _, b := range append([]string{base}, fallbacks...) {
		o.bases = append(o.bases, &originBase{url: strings.TrimRight(b, "/")})
	}
	return o
}

// maxPage bounds a rendered page read from the origin.
const maxPage = 64 << 20

// order lists the replicas to try: those that answered last first, each
// group in the configured order.
func (o *HTTPOrigin) order() []*originBase {
	out := make([]*originBase, 0, len(o.bases))
	for _, sick := range []bool{false, true} {
		for _, b := range o.bases {
			if b.sick.Load() == sick {
				out = append(out, b)
			}
		}
	}
	return out
}

func (o *HTTPOrigin) get(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	var last error
	for _, b := range o.order() {
		resp, err := o.getWatched(ctx, b, path, q)
		if err == nil && resp.StatusCode < 500 {
			return resp, nil
		}
		if err == nil {
			last = statusErr(path, resp)
			resp.Body.Close()
		} else {
			last = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

var errHung = errors.New("replica hung: no answer to its ping either")

// getWatched is getAt with a watchdog: while the call waits for its
// answer's headers, b is pinged every hungAfter; a ping that gets no
// answer marks b sick and ends the call (ErrUnavailable). The answer's
// body is read under the call's context until it is closed.
func (o *HTTPOrigin) getWatched(ctx context.Context, b *originBase, path string, q url.Values) (*http.Response, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	var mu sync.Mutex
	answered := false
	var t *time.Timer
	t = time.AfterFunc(o.hungAfter, func() {
		pctx, pcancel := context.WithTimeout(rctx, o.hungAfter)
		err := o.pingAt(pctx, b, "/livez")
		pcancel()
		mu.Lock()
		defer mu.Unlock()
		switch {
		case answered || rctx.Err() != nil:
		case err != nil:
			cancel(errHung)
		default:
			t.Reset(o.hungAfter)
		}
	})
	resp, err := o.getAt(rctx, b.url, path, q)
	mu.Lock()
	answered = true
	t.Stop()
	mu.Unlock()
	if err != nil {
		if errors.Is(context.Cause(rctx), errHung) {
			err = fmt.Errorf("%w: %s at %s: %w", ErrUnavailable, path, b.url, errHung)
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// cancelOnClose ends a call's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func (o *HTTPOrigin) getAt(ctx context.Context, base, path string, q url.Values) (*http.Response, error) {
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("edge: origin request %s: %w", path, err)
	}
	if o.secret != "" {
		req.Header.Set("Authorization", "Bearer "+o.secret)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, path, err)
	}
	return resp, nil
}

// pingAt asks b GET path (/livez: does it answer at all; /readyz: is it
// also caught up, with a leader) and records whether it answered 200.
func (o *HTTPOrigin) pingAt(ctx context.Context, b *originBase, path string) error {
	resp, err := o.getAt(ctx, b.url, path, nil)
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%w: %s: status %d", ErrUnavailable, path, resp.StatusCode)
		}
	}
	if !errors.Is(ctx.Err(), context.Canceled) { // not cut short by the caller
		b.sick.Store(err != nil)
	}
	return err
}

// Ping implements Pinger: nil once a replica answers GET /readyz with 200:
// it is caught up and knows a leader, so what it serves is current (a
// replica cut off with a minority of the cluster answers 503 there once it
// has lost its leader, and the edge marks its pages stale). Every
// replica is asked at once (each within hungAfter), so one that hangs
// does not make the origin look silent; the answers also say which
// replicas calls should try first.
func (o *HTTPOrigin) Ping(ctx context.Context) error {
	errs := make(chan error, len(o.bases))
	for _, b := range o.bases {
		go func() {
			pctx, cancel := context.WithTimeout(ctx, o.hungAfter)
			defer cancel()
			errs <- o.pingAt(pctx, b, "/readyz")
		}()
	}
	var ok bool
	var last error
	for range o.bases {
		if err := <-errs; err == nil {
			ok = true
		} else {
			last = err
		}
	}
	if ok {
		return nil
	}
	return last
}

func statusErr(path string, resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s: %q", ErrUnauthorized, path, msg)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, path)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %s", ErrForbidden, path)
	default:
		return fmt.Errorf("%w: %s: status %d: %q", ErrUnavailable, path, resp.StatusCode, msg)
	}
}

// Registry implements Origin.
func (o *HTTPOrigin) Registry(ctx context.Context) (content.Registry, error) {
	var reg content.Registry
	resp, err := o.get(ctx, "/internal/v1/registry", nil)
	if err != nil {
		return reg, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return reg, statusErr("registry", resp)
	}
	if reg, err = decodeRegistry(resp.Body); err != nil {
		return reg, fmt.Errorf("%w: registry: decode: %w", ErrUnavailable, err)
	}
	return reg, nil
}

// maxRegistry bounds the whole registry an edge reads at start: what the
// platform's sites take together, not one tenant (each entry has maxEntry).
const maxRegistry = 4 << 30

// decodeRegistry reads a content.Registry entry by entry, each under
// maxEntry, so the table is bounded per tenant, not by the sum of all of
// them (a single 64 MiB bound on the whole answer was filled by 64 sites
// at the origin's entry bound, and then no edge could start).
func decodeRegistry(r io.Reader) (content.Registry, error) {
	var reg content.Registry
	lr := &entryLimitReader{r: io.LimitReader(r, maxRegistry)}
	dec := json.NewDecoder(lr)
	lr.dec = dec
	if err := expectDelim(dec, '{'); err != nil {
		return reg, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return reg, err
		}
		switch tok {
		case "version":
			if err := dec.Decode(&reg.Version); err != nil {
				return reg, fmt.Errorf("version: %w", err)
			}
		case "sites":
			if err := expectDelim(dec, '['); err != nil {
				return reg, err
			}
			for dec.More() {
				var e content.RegistryEntry
				at := dec.InputOffset()
				if err := dec.Decode(&e); err != nil {
					return reg, fmt.Errorf("site %d: %w", len(reg.Sites), err)
				}
				if dec.InputOffset()-at > maxEntry {
					return reg, fmt.Errorf("site %d: %w", len(reg.Sites), errEntryTooLarge)
				}
				reg.Sites = append(reg.Sites, e)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return reg, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return reg, fmt.Errorf("%v: %w", tok, err)
			}
		}
	}
	return reg, expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("want %v, got %v", d, tok)
	}
	return nil
}

// errEntryTooLarge: one registry value is larger than maxEntry.
var errEntryTooLarge = fmt.Errorf("a registry entry is over %d bytes", maxEntry)

// entryLimitReader fails once the decoder holds more than maxEntry bytes it
// has not consumed (one value larger than maxEntry), so what the decoder
// buffers stays bounded; decodeRegistry checks each entry's exact size.
type entryLimitReader struct {
	r    io.Reader
	dec  *json.Decoder
	read int64
}

func (l *entryLimitReader) Read(p []byte) (int, error) {
	if l.read-l.dec.InputOffset() > maxEntry {
		return 0, errEntryTooLarge
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// Render implements Origin.
func (o *HTTPOrigin) Render(ctx context.Context, r RenderRequest) (Rendered, error) {
	// The only honoured query parameter ("page") travels inside path.
	q := url.Values{"site": {r.SiteID}, "path": {r.Path}, "min_version": {strconv.FormatUint(r.MinVersion, 10)}}
	if r.Audience != "" {
		q.Set("audience", r.Audience)
	}
	if r.Viewer != "" {
		q.Set("viewer", r.Viewer)
	}
	if !r.At.IsZero() {
		q.Set("at", strconv.FormatInt(r.At.Unix(), 10))
	}
	resp, err := o.get(ctx, "/internal/v1/render", q)
	if err != nil {
		return Rendered{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Rendered{}, statusErr("render "+r.Path, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, o.maxBody+1))
	if err != nil {
		return Rendered{}, fmt.Errorf("%w: render %s: read: %w", ErrUnavailable, r.Path, err)
	}
	if int64(len(body)) > o.maxBody {
		// Never cache a truncated page as if it were whole.
		return Rendered{}, fmt.Errorf("%w: render %s: page over %d bytes", ErrUnavailable, r.Path, o.maxBody)
	}
	v, err := strconv.ParseUint(resp.Header.Get("X-Statusedge-Version"), 10, 64)
	if err != nil {
		return Rendered{}, fmt.Errorf("%w: render %s: bad X-Statusedge-Version: %w", ErrUnavailable, r.Path, err)
	}
	return Rendered{ContentType: resp.Header.Get("Content-Type"), Version: v, Body: body,
		Live: resp.Header.Get("X-Statusedge-Live") == "1"}, nil
}

// Versions implements Origin.
func (o *HTTPOrigin) Versions(ctx context.Context, after uint64, wait time.Duration) (Versions, error) {
	var vs Versions
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "wait": {wait.String()}}
	if after > 0 {
		q.Set("delta", "1")
	}
	resp, err := o.get(ctx, "/internal/v1/versions", q)
	if err != nil {
		return vs, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return vs, statusErr("versions", resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxPage)).Decode(&vs); err != nil {
		return vs, fmt.Errorf("%w: versions: decode: %w", ErrUnavailable, err)
	}
	return vs, nil
}

// GossipVerifyKey asks the origin for the public key that origins sign
// gossip announcements with (GET /internal/v1/gossip-key): an edge that
// gossips verifies every version it hears against it.
func (o *HTTPOrigin) GossipVerifyKey(ctx context.Context) (ed25519.PublicKey, error) {
	resp, err := o.get(ctx, "/internal/v1/gossip-key", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusErr("gossip-key", resp)
	}
	var a struct {
		VerifyKey string `json:"verify_key"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a); err != nil {
		return nil, fmt.Errorf("%w: gossip-key: decode: %w", ErrUnavailable, err)
	}
	k, err := hex.DecodeString(a.VerifyKey)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: gossip-key: not a hex ed25519 public key", ErrUnavailable)
	}
	return ed25519.PublicKey(k), nil
}

// EntryAnswer is Origin.Entry's answer: the entry, or, when the one tagged
// as asked is Unchanged, the site's Version only.
type EntryAnswer struct {
	Entry     content.RegistryEntry
	Unchanged bool
	Version   uint64
}

// Entry implements Origin (tag goes as have=; a 304 is Unchanged).
func (o *HTTPOrigin) Entry(ctx context.Context, siteID, tag string) (EntryAnswer, error) {
	var a EntryAnswer
	q := url.Values{"site": {siteID}}
	if tag != "" {
		q.Set("have", tag)
	}
	resp, err := o.get(ctx, "/internal/v1/registry", q)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		v, err := strconv.ParseUint(resp.Header.Get("X-Statusedge-Version"), 10, 64)
		if err != nil {
			return a, fmt.Errorf("%w: registry entry: bad X-Statusedge-Version: %w", ErrUnavailable, err)
		}
		return EntryAnswer{Unchanged: true, Version: v}, nil
	case http.StatusOK:
	default:
		return a, statusErr("registry entry", resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxEntry)).Decode(&a.Entry); err != nil {
		return a, fmt.Errorf("%w: registry entry: decode: %w", ErrUnavailable, err)
	}
	a.Version = a.Entry.Version
	return a, nil
}

// maxEntry bounds one site's registry entry read from the origin.
const maxEntry = 8 << 20
