package tls

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/statusedge/statusedge/origin"
)

// StorageConfig says how to reach the origin's certificate storage.
type StorageConfig struct {
	// OriginURL is a replica's API (its own region's).
	OriginURL string
	// Secret is the cert secret (STATUSEDGE_CERT_SECRET).
	Secret string
	// Owner names this edge in lock leases; "" is a random id.
	Owner string
	// LockTTL is a lease's length, renewed while held; 0 is DefaultLockTTL.
	LockTTL time.Duration
	// Client is the HTTP client; nil is one with a 15 s timeout.
	Client *http.Client
	// Logger gets the storage's failures; nil is slog.Default().
	Logger *slog.Logger
}

// DefaultLockTTL is how long a lock outlives an edge that died holding it.
const DefaultLockTTL = 2 * time.Minute

// Storage is a certmagic.Storage (with its Locker and LockLeaseRenewer) on
// the origin's raft store. Values cross the wire in clear over the
// internal network; the origin seals them before they enter the log.
type Storage struct {
	cfg StorageConfig

	mu   sync.Mutex
	held map[string]chan struct{} // lock name → closed on Unlock (stops the renewer)
}

// NewStorage returns a Storage for cfg.
func NewStorage(cfg StorageConfig) (*Storage, error) {
	if cfg.OriginURL == "" || len(cfg.Secret) < 16 {
		return nil, errors.New("tls: storage needs the origin URL and the cert secret (16+ characters)")
	}
	if cfg.Owner == "" {
		var b [8]byte
		rand.Read(b[:])
		cfg.Owner = "edge-" + hex.EncodeToString(b[:])
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Storage{cfg: cfg, held: map[string]chan struct{}{}}, nil
}

var _ certmagic.Storage = (*Storage)(nil)
var _ certmagic.LockLeaseRenewer = (*Storage)(nil)

// errStatus is a non-2xx answer of the origin.
type errStatus struct {
	status int
	body   string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("tls: origin answered %d: %s", e.status, e.body)
}

func (s *Storage) do(ctx context.Context, method, route string, q url.Values, body []byte) (*http.Response, []byte, error) {
	u := s.cfg.OriginURL + "/internal/v1/certs/" + route
	if q != nil {
		u += "?" + q.Encode()
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.Secret)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: storage %s %s: %w", method, route, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, origin.MaxCertValueBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: storage %s %s: %w", method, route, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return resp, b, fs.ErrNotExist
	case resp.StatusCode >= 300 && resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusTooManyRequests:
		return resp, b, &errStatus{resp.StatusCode, string(b)}
	}
	return resp, b, nil
}

func keyQuery(key string) url.Values { return url.Values{"key": {key}} }

// Store implements certmagic.Storage.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	_, err := s.StoreVersion(ctx, key, value)
	return err
}

// StoreVersion stores value and returns the raft index it was stored at.
func (s *Storage) StoreVersion(ctx context.Context, key string, value []byte) (uint64, error) {
	_, b, err := s.do(ctx, http.MethodPut, "value", keyQuery(key), value)
	if err != nil {
		return 0, err
	}
	var out origin.CertStored
	if err := json.Unmarshal(b, &out); err != nil {
		return 0, fmt.Errorf("tls: store answer: %w", err)
	}
	return out.Version, nil
}

// Load implements certmagic.Storage.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	_, b, err := s.do(ctx, http.MethodGet, "value", keyQuery(key), nil)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Delete implements certmagic.Storage.
func (s *Storage) Delete(ctx context.Context, key string) error {
	_, _, err := s.do(ctx, http.MethodDelete, "value", keyQuery(key), nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Exists implements certmagic.Storage.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List implements certmagic.Storage.
func (s *Storage) List(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	q := url.Values{"prefix": {prefix}, "recursive": {strconv.FormatBool(recursive)}}
	_, b, err := s.do(ctx, http.MethodGet, "list", q, nil)
	if err != nil {
		return nil, err
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("tls: list answer: %w", err)
	}
	return keys, nil
}

// Stat implements certmagic.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	_, b, err := s.do(ctx, http.MethodGet, "stat", keyQuery(key), nil)
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	var info origin.CertKeyInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("tls: stat answer: %w", err)
	}
	return certmagic.KeyInfo{Key: info.Key, Modified: info.Modified, Size: info.Size, IsTerminal: info.IsTerminal}, nil
}

func (s *Storage) lease(ctx context.Context, route, name string, ttl time.Duration) (bool, error) {
	b, _ := json.Marshal(origin.LeaseInput{Name: name, Owner: s.cfg.Owner, TTL: ttl})
	resp, _, err := s.do(ctx, http.MethodPost, route, nil, b)
	if err != nil {
		return false, err
	}
	return resp.StatusCode != http.StatusConflict, nil
}

// Lock implements certmagic.Locker: it waits until this edge holds the
// lease (another edge's runs out at its expiry if that edge died) and
// renews it while held.
func (s *Storage) Lock(ctx context.Context, name string) error {
	wait := 100 * time.Millisecond
	for {
		ok, err := s.lease(ctx, "lock", name, s.cfg.LockTTL)
		if ok && err == nil {
			break
		}
		if err != nil {
			s.cfg.Logger.Warn("certificate lock", "name", name, "err", err)
		} else {
			s.cfg.Logger.Debug("certificate lock held by another edge; waiting", "name", name)
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("tls: lock %s: %w (last: %w)", name, ctx.Err(), err)
			}
			return fmt.Errorf("tls: lock %s: %w", name, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
	stop := make(chan struct{})
	s.mu.Lock()
	if old, ok := s.held[name]; ok {
		close(old)
	}
	s.held[name] = stop
	s.mu.Unlock()
	go s.renew(name, stop)
	return nil
}

// renew keeps a held lease alive until stop closes.
func (s *Storage) renew(name string, stop chan struct{}) {
	t := time.NewTicker(s.cfg.LockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LockTTL/3)
			s.lease(ctx, "lock", name, s.cfg.LockTTL)
			cancel()
		}
	}
}

// Close stops renewing the leases this edge holds (they run out at their
// expiry, as if the edge had died); the Storage must not be used after.
func (s *Storage) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, stop := range s.held {
		close(stop)
		delete(s.held, name)
	}
}

// RenewLockLease implements certmagic.LockLeaseRenewer.
func (s *Storage) RenewLockLease(ctx context.Context, name string, d time.Duration) error {
	ok, err := s.lease(ctx, "lock", name, min(max(d, s.cfg.LockTTL), origin.MaxCertLease))
	if err == nil && !ok {
		err = fmt.Errorf("tls: lock %s is held by another edge", name)
	}
	return err
}

// Unlock implements certmagic.Locker.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	if stop, ok := s.held[name]; ok {
		close(stop)
		delete(s.held, name)
	}
	s.mu.Unlock()
	_, err := s.lease(ctx, "unlock", name, 0)
	return err
}

// Order asks the origin whether an order for name may start now, or
// reports how one ended ("failed", "issued"). It returns the time to
// retry after when the CA's limits (counted cluster-wide) say no.
func (s *Storage) Order(ctx context.Context, name, outcome string, limits origin.CALimits) (ok bool, retry time.Time, reason string, err error) {
	b, _ := json.Marshal(origin.OrderInput{Name: name, Outcome: outcome, Limits: &limits})
	resp, body, err := s.do(ctx, http.MethodPost, "order", nil, b)
	if err != nil {
		return false, time.Time{}, "", err
	}
	var v origin.OrderView
	if err := json.Unmarshal(body, &v); err != nil {
		return false, time.Time{}, "", fmt.Errorf("tls: order answer: %w", err)
	}
	return resp.StatusCode == http.StatusOK && v.Allowed, v.RetryAfter, v.Reason, nil
}
