package client

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinels callers branch on. An *APIError unwraps to one of the first six
// (by HTTP status); a request that never got an answer wraps ErrUnreachable.
var (
	// ErrInvalid is a request the origin refused as bad input (400 or 422).
	ErrInvalid = errors.New("client: invalid request")
	// ErrUnauthorized is a missing or unknown token (401).
	ErrUnauthorized = errors.New("client: unauthorized")
	// ErrForbidden is a token without rights on the target (403).
	ErrForbidden = errors.New("client: forbidden")
	// ErrNotFound is an unknown site or object (404).
	ErrNotFound = errors.New("client: not found")
	// ErrConflict is a slug or hostname taken, or an Idempotency-Key reused
	// with another body (409).
	ErrConflict = errors.New("client: conflict")
	// ErrUnavailable is an origin that answered with a 5xx (no leader, overload).
	ErrUnavailable = errors.New("client: origin unavailable")
	// ErrUnreachable is a request that got no answer at all (connection
	// refused, reset, timed out). A mutating request may or may not have been
	// applied: retry it with the same IdempotencyKey.
	ErrUnreachable = errors.New("client: origin unreachable")
	// ErrUnexpected is an answer the client cannot understand (not JSON where
	// JSON was due, an undocumented status).
	ErrUnexpected = errors.New("client: unexpected answer")
)

// APIError is an error answer from the origin: the body
// {"error": {"status", "field", "message"}} of docs/API.md.
type APIError struct {
	Status  int    `json:"status"`
	Field   string `json:"field,omitempty"` // empty when no one field is at fault
	Message string `json:"message"`
	// Method and Path name the request.
	Method string `json:"-"`
	Path   string `json:"-"`
	// Attempts is how many times the request was sent.
	Attempts int `json:"-"`
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.Status))
	}
	if e.Field != "" {
		return fmt.Sprintf("client: %s %s: %d: %s: %s", e.Method, e.Path, e.Status, e.Field, msg)
	}
	return fmt.Sprintf("client: %s %s: %d: %s", e.Method, e.Path, e.Status, msg)
}

// Unwrap returns the sentinel for the status.
func (e *APIError) Unwrap() error {
	switch {
	case e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity:
		return ErrInvalid
	case e.Status == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.Status == http.StatusForbidden:
		return ErrForbidden
	case e.Status == http.StatusNotFound:
		return ErrNotFound
	case e.Status == http.StatusConflict:
		return ErrConflict
	case e.Status >= 500:
		return ErrUnavailable
	}
	return ErrUnexpected
}

// Retry defaults (see Config).
const (
	DefaultMaxAttempts    = 5
	DefaultMinBackoff     = 250 * time.Millisecond
	DefaultMaxBackoff     = 4 * time.Second
	DefaultAttemptTimeout = 20 * time.Second
	// MaxResponseBytes bounds an answer's body (a site with 90 days of
	// history for 1,000 components is a few MiB).
	MaxResponseBytes = 64 << 20
)

// Config configures a Client. Zero fields mean the documented defaults.
type Config struct {
	// BaseURL is any origin replica's management API, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Token is the operator token or a site's API token (sent as a bearer token).
	Token string
	// HTTPClient sends the requests; nil means a client with no overall
	// timeout (AttemptTimeout and the context bound each request).
	HTTPClient *http.Client
	// MaxAttempts is how many times one call is sent at most (0: DefaultMaxAttempts).
	MaxAttempts int
	// MinBackoff is the wait before the first retry, doubled for each next one
	// up to MaxBackoff, with jitter (0: DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one attempt, so one hung connection does not eat
	// the caller's whole deadline (0: DefaultAttemptTimeout).
	AttemptTimeout time.Duration
	// UserAgent is sent with every request ("" : "statusedge-client").
	UserAgent string
}

// DefaultConfig returns a Config for baseURL and token with every default filled in.
func DefaultConfig(baseURL, token string) Config {
	c := Config{BaseURL: baseURL, Token: token}
	c.fill()
	return c
}

func (c *Config) fill() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = DefaultAttemptTimeout
	}
	if c.UserAgent == "" {
		c.UserAgent = "statusedge-client"
	}
}

// Validate checks the config (after defaults are filled in).
func (c Config) Validate() error {
	c.fill()
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("client: base URL %q: must be an http or https URL such as http://127.0.0.1:8080", c.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("client: base URL %q: must not have a query or fragment", c.BaseURL)
	}
	if strings.ContainsAny(c.Token, "\r\n") {
		return errors.New("client: token: must not contain line breaks")
	}
	switch {
	case c.MaxAttempts < 1:
		return fmt.Errorf("client: max attempts %d: must be at least 1", c.MaxAttempts)
	case c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("client: backoff %v..%v: must be 0 <= min <= max", c.MinBackoff, c.MaxBackoff)
	case c.AttemptTimeout < 0:
		return fmt.Errorf("client: attempt timeout %v: must not be negative", c.AttemptTimeout)
	}
	return nil
}

// Client talks to one origin replica's management API.
type Client struct {
	cfg  Config
	base *url.URL
	hc   *http.Client
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	cfg.fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, base: base, hc: hc}, nil
}

// NewIdempotencyKey returns a fresh random Idempotency-Key (32 hex digits).
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = cryptorand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

// CallOption changes one call.
type CallOption func(*call)

type call struct {
	idemKey  string
	raw      *[]byte
	replayed *bool
	attempts *int
}

// IdempotencyKey makes a mutating call use key instead of a fresh random one,
// e.g. to retry, in a new process, a call whose answer was lost.
func IdempotencyKey(key string) CallOption { return func(c *call) { c.idemKey = key } }

// RawBody stores the answer's body (JSON) in *dst.
func RawBody(dst *[]byte) CallOption { return func(c *call) { c.raw = dst } }

// Replayed stores in *dst whether the origin answered a POST from its
// idempotency record (header Idempotent-Replayed: true), i.e. an earlier
// attempt had already applied it.
func Replayed(dst *bool) CallOption { return func(c *call) { c.replayed = dst } }

// Attempts stores in *dst how many times the call was sent.
func Attempts(dst *int) CallOption { return func(c *call) { c.attempts = dst } }

// Do sends one call: method and path (below the base URL, escaped, e.g.
// "/v1/sites/acme/incidents"), in (nil, or a value encoded as JSON) and
// decodes a 2xx answer into out (nil to discard it). Mutating methods carry
// an Idempotency-Key; every retry sends the same one.
func (c *Client) Do(ctx context.Context, method, path string, in, out any, opts ...CallOption) error {
	var o call
	for _, opt := range opts {
		opt(&o)
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("client: %s %s: encode request: %w", method, path, err)
		}
	}
	mutating := method != http.MethodGet && method != http.MethodHead
	if mutating && o.idemKey == "" {
		o.idemKey = NewIdempotencyKey()
	}
	// path is already escaped (sitePath): append it to the base as is.
	target := c.base.String() + path

	var lastErr error
	attempt := 0
	for attempt < c.cfg.MaxAttempts {
		if attempt > 0 {
			if err := c.wait(ctx, attempt, lastErr); err != nil {
				break
			}
		}
		attempt++
		if o.attempts != nil {
			*o.attempts = attempt
		}
		resp, raw, err := c.send(ctx, method, target, body, o.idemKey)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if retryable(resp.StatusCode) {
			lastErr = apiError(resp, raw, method, path, attempt)
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return apiError(resp, raw, method, path, attempt)
		}
		if o.raw != nil {
			*o.raw = raw
		}
		if o.replayed != nil {
			*o.replayed = resp.Header.Get("Idempotent-Replayed") == "true"
		}
		if out != nil && resp.StatusCode != http.StatusNoContent {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("%w: %s %s: decode %d answer: %v", ErrUnexpected, method, path, resp.StatusCode, err)
			}
		}
		return nil
	}
	var ae *APIError
	if errors.As(lastErr, &ae) {
		return ae
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return &UnreachableError{Method: method, URL: c.base.Redacted() + path, Attempts: attempt, Err: lastErr}
}

// UnreachableError is a call that never got an answer. It matches
// ErrUnreachable and the last attempt's cause (errors.Is).
type UnreachableError struct {
	Method, URL string
	Attempts    int
	Err         error // the last attempt's error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("client: origin unreachable: %s %s (%d attempts): %v", e.Method, e.URL, e.Attempts, e.Err)
}

// Unwrap returns ErrUnreachable and the cause.
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// retryable reports whether an answer means "try again, the request was not applied".
func retryable(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

type retryAfterError struct {
	error
	after time.Duration
}

// wait sleeps before attempt (1-based count of retries), or returns the
// context's error. It never sleeps past the context's deadline: if the
// backoff would end after it, it returns at once.
func (c *Client) wait(ctx context.Context, attempt int, lastErr error) error {
	d := c.cfg.MinBackoff << (attempt - 1)
	if d > c.cfg.MaxBackoff || d <= 0 {
		d = c.cfg.MaxBackoff
	}
	d = d/2 + rand.N(d/2+1) // jitter: [d/2, d]
	var ra *retryAfterError
	if errors.As(lastErr, &ra) && ra.after > d {
		d = min(ra.after, c.cfg.MaxBackoff)
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) send(ctx context.Context, method, u string, body []byte, idemKey string) (*http.Response, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read %d answer: %w", resp.StatusCode, err)
	}
	if len(raw) > MaxResponseBytes {
		return nil, nil, fmt.Errorf("%d answer larger than %d bytes", resp.StatusCode, MaxResponseBytes)
	}
	return resp, raw, nil
}

// apiError decodes an error answer. A body that is not the documented error
// JSON (a proxy's HTML page) still gives the status.
func apiError(resp *http.Response, raw []byte, method, path string, attempts int) error {
	var env struct {
		Error *APIError `json:"error"`
	}
	e := &APIError{Status: resp.StatusCode}
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		e = env.Error
		e.Status = resp.StatusCode // the status line wins over the body
	}
	e.Method, e.Path, e.Attempts = method, path, attempts
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 && retryable(resp.StatusCode) {
		return &retryAfterError{error: e, after: time.Duration(secs) * time.Second}
	}
	return e
}

// Unwrap lets errors.As find the *APIError inside a retryAfterError.
func (r *retryAfterError) Unwrap() error { return r.error }
