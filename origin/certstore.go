package origin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// Certificate storage: what certmagic keeps (certificates, private keys,
// the ACME account, OCSP staples, distributed challenge tokens) stored once
// for every edge of every region, in raft. Values are sealed with the
// cluster's CertKey (AES-GCM, the key name as additional data) by the
// replica that receives them, before they enter the log, so neither the log
// nor a snapshot holds a private key in clear. Locks are leases with an
// expiry in command time, so an edge that dies holding one blocks nobody
// for longer than its lease. cert.order counts orders and failures across
// the cluster, so the CA's limits hold however many edges ask.
//
// Edges reach it under /internal/v1/certs/ with the cert secret, a scope of
// its own: the edge secret stays read-only, the cert secret opens nothing
// else.

// Limits of the certificate storage.
const (
	MaxCertValueBytes = 256 << 10
	MaxCertKeyBytes   = 512
	MaxCertKeys       = 100_000
	MaxCertLocks      = 10_000
	MaxCertLease      = 10 * time.Minute
	maxCertOrders     = 100_000 // order records kept (a week of them at most)
	maxCertFails      = 100_000
)

// CertCommand is the change of one cert.* command.
type CertCommand struct {
	Key  string `json:"key,omitempty"`  // storage key (put, delete), lock name (lock, unlock)
	Data []byte `json:"data,omitempty"` // sealed value (put)
	// Owner and TTL of a lease (lock, unlock).
	Owner string        `json:"owner,omitempty"`
	TTL   time.Duration `json:"ttl,omitempty"`
	// Order: Name is the certificate's name, Outcome "start", "failed" or
	// "issued", Limits those of the CA (the caller's configuration).
	Name    string    `json:"name,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Limits  *CALimits `json:"limits,omitempty"`
}

// CALimits are a CA's published issuance limits, counted cluster-wide.
type CALimits struct {
	OrdersPer3h     int `json:"orders_per_3h"`     // new orders per account per 3 hours (LE: 300)
	CertsPerWeek    int `json:"certs_per_week"`    // per registered domain per 7 days (LE: 50)
	FailsPerHour    int `json:"fails_per_hour"`    // failed validations per name per hour (LE: 5)
	MaxBackoffHours int `json:"max_backoff_hours"` // cap of a failing name's backoff
}

// DefaultCALimits are Let's Encrypt's.
func DefaultCALimits() CALimits {
	return CALimits{OrdersPer3h: 300, CertsPerWeek: 50, FailsPerHour: 5, MaxBackoffHours: 6}
}

// certState is the certificate storage part of the replicated state.
type certState struct {
	Values map[string]certValue `json:"values"`
	Locks  map[string]certLease `json:"locks"`
	Orders []certOrder          `json:"orders"` // by time
	Fails  map[string]certFails `json:"fails"`
}

type certValue struct {
	Data     []byte    `json:"data"` // sealed
	Modified time.Time `json:"modified"`
	Index    uint64    `json:"index"`
}

type certLease struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

type certOrder struct {
	At     time.Time `json:"at"`
	Domain string    `json:"domain"` // registered domain
}

type certFails struct {
	Count int       `json:"count"` // consecutive failures
	First time.Time `json:"first"` // of the current hour's failures
	InHr  int       `json:"in_hour"`
	Next  time.Time `json:"next"` // no order before
}

func (c *certState) clone() *certState {
	if c == nil {
		return nil
	}
	n := &certState{Values: make(map[string]certValue, len(c.Values)), Locks: make(map[string]certLease, len(c.Locks)),
		Orders: slices.Clone(c.Orders), Fails: make(map[string]certFails, len(c.Fails))}
	for k, v := range c.Values {
		n.Values[k] = v
	}
	for k, v := range c.Locks {
		n.Locks[k] = v
	}
	for k, v := range c.Fails {
		n.Fails[k] = v
	}
	return n
}

func (s *state) certs() *certState {
	if s.Certs == nil {
		s.Certs = &certState{}
	}
	c := s.Certs
	if c.Values == nil {
		c.Values = map[string]certValue{}
	}
	if c.Locks == nil {
		c.Locks = map[string]certLease{}
	}
	if c.Fails == nil {
		c.Fails = map[string]certFails{}
	}
	return c
}

// checkCertKey accepts certmagic's keys: relative slash-separated paths of
// printable characters, no "." or ".." elements.
func checkCertKey(field, k string) *Error {
	if k == "" || len(k) > MaxCertKeyBytes || !utf8.ValidString(k) || strings.HasPrefix(k, "/") {
		return invalid(field, "must be a relative storage key of at most %d bytes", MaxCertKeyBytes)
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return invalid(field, "must not hold control characters or backslashes")
		}
	}
	for _, el := range strings.Split(k, "/") {
		if el == "" || el == "." || el == ".." {
			return invalid(field, "must not hold empty, . or .. elements")
		}
	}
	return nil
}

// certName is the certificate a storage key belongs to, for keys that hold
// one ("certificates/<issuer>/<name>/<name>.crt"), else "".
func certName(key string) string {
	parts := strings.Split(key, "/")
	if len(parts) == 4 && parts[0] == "certificates" && parts[3] == parts[2]+".crt" {
		return parts[2]
	}
	return ""
}

// cert applies the cert.* commands.
func (a *applier) cert() *Result {
	c := a.cmd.Cert
	if c == nil {
		return fail(invalid("cert", "is required"))
	}
	cs := a.st.certs()
	switch a.cmd.Op {
	case OpCertPut:
		if e := checkCertKey("key", c.Key); e != nil {
			return fail(e)
		}
		if len(c.Data) > MaxCertValueBytes+64 {
			return fail(invalid("data", "at most %d bytes", MaxCertValueBytes))
		}
		if _, ok := cs.Values[c.Key]; !ok && len(cs.Values) >= MaxCertKeys {
			return fail(&Error{Status: http.StatusInsufficientStorage, Field: "key", Message: "certificate storage is full", Err: ErrInvalid})
		}
		cs.Values[c.Key] = certValue{Data: c.Data, Modified: a.at, Index: a.index}
		return &Result{Status: http.StatusOK, Cert: certName(c.Key)}
	case OpCertDelete:
		if e := checkCertKey("key", c.Key); e != nil {
			return fail(e)
		}
		delete(cs.Values, c.Key)
		prefix := c.Key + "/"
		for k := range cs.Values {
			if strings.HasPrefix(k, prefix) {
				delete(cs.Values, k)
			}
		}
		return &Result{Status: http.StatusNoContent}
	case OpCertLock, OpCertUnlock:
		if e := checkCertKey("name", c.Key); e != nil {
			return fail(e)
		}
		if c.Owner == "" || len(c.Owner) > 128 {
			return fail(invalid("owner", "is required (at most 128 bytes)"))
		}
		for k, l := range cs.Locks { // expired leases go first
			if !a.at.Before(l.Expires) {
				delete(cs.Locks, k)
			}
		}
		l, held := cs.Locks[c.Key]
		if a.cmd.Op == OpCertUnlock {
			if held && l.Owner == c.Owner {
				delete(cs.Locks, c.Key)
			}
			return &Result{Status: http.StatusNoContent}
		}
		if held && l.Owner != c.Owner {
			return leaseAnswer(http.StatusConflict, l)
		}
		if c.TTL <= 0 || c.TTL > MaxCertLease {
			return fail(invalid("ttl", "must be positive and at most %s", MaxCertLease))
		}
		if !held && len(cs.Locks) >= MaxCertLocks {
			return fail(&Error{Status: http.StatusServiceUnavailable, Field: "name", Message: "too many certificate locks", Err: ErrBehind})
		}
		l = certLease{Owner: c.Owner, Expires: a.at.Add(c.TTL)}
		cs.Locks[c.Key] = l
		return leaseAnswer(http.StatusOK, l)
	default: // OpCertOrder
		return a.certOrder(cs, c)
	}
}

func leaseAnswer(status int, l certLease) *Result {
	b, _ := json.Marshal(LeaseView(l))
	return &Result{Status: status, Body: b}
}

// LeaseView is the answer of a lock request: the lease that holds.
type LeaseView struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// OrderView is the answer of an order request: 200 go ahead, or 429 and
// the earliest time to ask again, with the limit that says no.
type OrderView struct {
	Allowed    bool      `json:"allowed"`
	RetryAfter time.Time `json:"retry_after,omitzero"`
	Reason     string    `json:"reason,omitempty"`
}

func (a *applier) certOrder(cs *certState, c *CertCommand) *Result {
	if e := checkHostname("name", strings.TrimPrefix(c.Name, "*.")); e != nil {
		return fail(e)
	}
	lim := DefaultCALimits()
	if c.Limits != nil {
		lim = *c.Limits
	}
	at := a.at
	// Records older than a week count for nothing.
	cut := 0
	for cut < len(cs.Orders) && at.Sub(cs.Orders[cut].At) >= 7*24*time.Hour {
		cut++
	}
	cs.Orders = slices.Delete(cs.Orders, 0, cut)
	f, failed := cs.Fails[c.Name]
	answer := func(status int, v OrderView) *Result {
		b, _ := json.Marshal(v)
		return &Result{Status: status, Body: b}
	}
	switch c.Outcome {
	case "issued":
		delete(cs.Fails, c.Name)
		return answer(http.StatusOK, OrderView{Allowed: true})
	case "failed":
		if !failed || at.Sub(f.First) >= time.Hour {
			f.First, f.InHr = at, 0
		}
		f.Count++
		f.InHr++
		backoff := time.Minute << min(f.Count-1, 16)
		if mx := time.Duration(max(lim.MaxBackoffHours, 1)) * time.Hour; backoff > mx {
			backoff = mx
		}
		f.Next = at.Add(backoff)
		if lim.FailsPerHour > 0 && f.InHr >= lim.FailsPerHour && f.Next.Before(f.First.Add(time.Hour)) {
			f.Next = f.First.Add(time.Hour)
		}
		if !failed && len(cs.Fails) >= maxCertFails {
			for k, old := range cs.Fails { // the table stays bounded: drop one that may ask again
				if !at.Before(old.Next) {
					delete(cs.Fails, k)
					break
				}
			}
		}
		cs.Fails[c.Name] = f
		return answer(http.StatusOK, OrderView{Allowed: false, RetryAfter: f.Next, Reason: "failed; backing off"})
	case "start":
	default:
		return fail(invalid("outcome", "must be start, failed or issued"))
	}
	if failed && at.Before(f.Next) {
		return answer(http.StatusTooManyRequests, OrderView{RetryAfter: f.Next, Reason: "the last order for this name failed"})
	}
	if lim.OrdersPer3h > 0 {
		var in3h []certOrder
		for i := len(cs.Orders) - 1; i >= 0 && at.Sub(cs.Orders[i].At) < 3*time.Hour; i-- {
			in3h = append(in3h, cs.Orders[i])
		}
		if len(in3h) >= lim.OrdersPer3h {
			return answer(http.StatusTooManyRequests, OrderView{RetryAfter: in3h[len(in3h)-1].At.Add(3 * time.Hour), Reason: "orders per 3 hours"})
		}
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimPrefix(c.Name, "*."))
	if err != nil {
		reg = c.Name
	}
	if lim.CertsPerWeek > 0 {
		n, first := 0, time.Time{}
		for _, o := range cs.Orders {
			if o.Domain == reg {
				if n == 0 {
					first = o.At
				}
				n++
			}
		}
		if n >= lim.CertsPerWeek {
			return answer(http.StatusTooManyRequests, OrderView{RetryAfter: first.Add(7 * 24 * time.Hour), Reason: "certificates per registered domain per week"})
		}
	}
	if len(cs.Orders) >= maxCertOrders {
		cs.Orders = slices.Delete(cs.Orders, 0, 1)
	}
	cs.Orders = append(cs.Orders, certOrder{At: at, Domain: reg})
	return answer(http.StatusOK, OrderView{Allowed: true})
}

// CertPublisher announces that a certificate was stored at version
// (gossip.Node is one).
type CertPublisher interface {
	PublishCert(name string, version uint64) error
}

func announceCert(n *Node, p Publisher, c Change) {
	cp, ok := p.(CertPublisher)
	if !ok {
		return
	}
	if err := cp.PublishCert(c.Cert, c.Version); err != nil {
		n.log.Debug("announce cert", "name", c.Cert, "version", c.Version, "error", err)
	}
}

// SealCertValue seals a certificate storage value under key: a random
// nonce, then the AES-GCM box with key as additional data (so a value
// cannot be moved to another key). Raft's copy is sealed with the cluster's
// CertKey, an edge's local copy (tls) with its own.
func SealCertValue(g cipher.AEAD, key string, data []byte) []byte {
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(data)+g.Overhead())
	rand.Read(nonce)
	return g.Seal(nonce, nonce, data, []byte(key))
}

// OpenCertValue opens what SealCertValue sealed under key.
func OpenCertValue(g cipher.AEAD, key string, sealed []byte) ([]byte, error) {
	ns := g.NonceSize()
	if len(sealed) < ns {
		return nil, errors.New("origin: sealed cert value too short")
	}
	plain, err := g.Open(nil, sealed[:ns], sealed[ns:], []byte(key))
	if err != nil {
		return nil, fmt.Errorf("origin: open cert value %s: %w", key, err)
	}
	return plain, nil
}

// sealer encrypts storage values with the cluster's CertKey.
func (n *Node) sealer() (cipher.AEAD, *Error) {
	if len(n.cfg.CertKey) != 32 {
		return nil, &Error{Status: http.StatusServiceUnavailable, Message: "certificate storage needs the cluster's cert key", Err: ErrClosed}
	}
	b, err := aes.NewCipher(n.cfg.CertKey)
	if err != nil {
		return nil, asError(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, asError(err)
	}
	return g, nil
}

func (n *Node) certRoutes(mux *http.ServeMux) {
	mux.Handle("GET /internal/v1/certs/value", n.certOnly(n.certLoad))
	mux.Handle("PUT /internal/v1/certs/value", n.certOnly(n.certStore))
	mux.Handle("DELETE /internal/v1/certs/value", n.certOnly(n.certDelete))
	mux.Handle("GET /internal/v1/certs/stat", n.certOnly(n.certStat))
	mux.Handle("GET /internal/v1/certs/list", n.certOnly(n.certList))
	mux.Handle("POST /internal/v1/certs/lock", n.certOnly(n.certLease(OpCertLock)))
	mux.Handle("POST /internal/v1/certs/unlock", n.certOnly(n.certLease(OpCertUnlock)))
	mux.Handle("POST /internal/v1/certs/order", n.certOnly(n.certOrderRoute))
}

// certOnly admits the cluster secret and the cert secret; the edge secret
// (content, read-only) gets 403.
func (n *Node) certOnly(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		cluster := equalSecret(tok, n.cfg.ClusterSecret)
		cert := n.cfg.CertSecret != "" && equalSecret(tok, n.cfg.CertSecret)
		edge := n.cfg.EdgeSecret != "" && equalSecret(tok, n.cfg.EdgeSecret)
		switch {
		case cluster, cert:
		case edge:
			writeError(w, &Error{Status: http.StatusForbidden, Message: "certificate storage needs the cert secret", Err: ErrForbidden})
			return
		default:
			writeError(w, &Error{Status: http.StatusUnauthorized, Message: "missing or wrong cert secret", Err: ErrUnauthorized})
			return
		}
		if r.Method == http.MethodGet && !n.waitReady(r.Context()) {
			writeError(w, &Error{Status: http.StatusServiceUnavailable, Message: "replica is catching up after a restart", Err: ErrBehind})
			return
		}
		n.serve(w, r, principal{operator: true}, fn)
	})
}

func (n *Node) certValue(key string) (certValue, bool) {
	var v certValue
	var ok bool
	n.fsm.read(func(st *state) {
		if st.Certs != nil {
			v, ok = st.Certs.Values[key]
		}
	})
	return v, ok
}

// sealedKey returns the request's storage key and the sealer.
func (n *Node) sealedKey(r *http.Request) (string, cipher.AEAD, *Error) {
	key := r.URL.Query().Get("key")
	if e := checkCertKey("key", key); e != nil {
		return "", nil, e
	}
	g, e := n.sealer()
	return key, g, e
}

func (n *Node) certLoad(w http.ResponseWriter, r *http.Request, _ principal) error {
	key, g, e := n.sealedKey(r)
	if e != nil {
		return e
	}
	v, ok := n.certValue(key)
	if !ok {
		return notFound("key", "key")
	}
	plain, err := OpenCertValue(g, key, v.Data)
	if err != nil {
		return &Error{Status: http.StatusInternalServerError, Message: "cannot open a sealed value", Err: err}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Last-Modified", v.Modified.UTC().Format(http.TimeFormat))
	w.Header().Set("X-Statusedge-Modified", v.Modified.UTC().Format(time.RFC3339Nano))
	w.Header().Set("X-Statusedge-Version", strconv.FormatUint(v.Index, 10))
	w.Write(plain)
	return nil
}

// CertStored is the answer of a store: the raft index it was stored at.
type CertStored struct {
	Version uint64 `json:"version"`
}

func (n *Node) certStore(w http.ResponseWriter, r *http.Request, p principal) error {
	key, g, e := n.sealedKey(r)
	if e != nil {
		return e
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCertValueBytes))
	if err != nil {
		return decodeError(err)
	}
	sealed := SealCertValue(g, key, data)
	return n.certPropose(w, r, &Command{Op: OpCertPut, Cert: &CertCommand{Key: key, Data: sealed}}, func(res *Result) any {
		return CertStored{Version: res.Index}
	})
}

func (n *Node) certDelete(w http.ResponseWriter, r *http.Request, p principal) error {
	key := r.URL.Query().Get("key")
	if e := checkCertKey("key", key); e != nil {
		return e
	}
	return n.certPropose(w, r, &Command{Op: OpCertDelete, Cert: &CertCommand{Key: key}}, nil)
}

// certPropose proposes cmd and writes its answer (its own status and body,
// or wrap's).
func (n *Node) certPropose(w http.ResponseWriter, r *http.Request, cmd *Command, wrap func(*Result) any) error {
	cmd.At = n.now().UTC()
	res, err := n.Propose(r.Context(), cmd)
	if err != nil {
		return err
	}
	return writeResult(w, res, wrap)
}

// CertKeyInfo is the answer of a stat (certmagic.KeyInfo's fields).
type CertKeyInfo struct {
	Key        string    `json:"key"`
	Modified   time.Time `json:"modified"`
	Size       int64     `json:"size"`
	IsTerminal bool      `json:"terminal"`
}

func (n *Node) certStat(w http.ResponseWriter, r *http.Request, _ principal) error {
	key := r.URL.Query().Get("key")
	if e := checkCertKey("key", key); e != nil {
		return e
	}
	info := CertKeyInfo{Key: key}
	found := false
	n.fsm.read(func(st *state) {
		if st.Certs == nil {
			return
		}
		if v, ok := st.Certs.Values[key]; ok {
			info.Modified, info.Size, info.IsTerminal, found = v.Modified, int64(max(len(v.Data)-28, 0)), true, true
			return
		}
		prefix := key + "/"
		for k, v := range st.Certs.Values {
			if strings.HasPrefix(k, prefix) {
				found = true
				if v.Modified.After(info.Modified) {
					info.Modified = v.Modified
				}
			}
		}
	})
	if !found {
		return notFound("key", "key")
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (n *Node) certList(w http.ResponseWriter, r *http.Request, _ principal) error {
	q := r.URL.Query()
	prefix := strings.TrimSuffix(q.Get("prefix"), "/")
	if prefix != "" {
		if e := checkCertKey("prefix", prefix); e != nil {
			return e
		}
	}
	recursive := q.Get("recursive") == "true"
	seen := map[string]bool{}
	n.fsm.read(func(st *state) {
		if st.Certs == nil {
			return
		}
		for k := range st.Certs.Values {
			rest := k
			if prefix != "" {
				var ok bool
				if rest, ok = strings.CutPrefix(k, prefix+"/"); !ok {
					continue
				}
			}
			if recursive {
				seen[k] = true
				// directories are keys too when walking
				for d := path.Dir(k); d != "." && d != prefix && strings.HasPrefix(d, prefix); d = path.Dir(d) {
					seen[d] = true
				}
				continue
			}
			first, _, _ := strings.Cut(rest, "/")
			if prefix != "" {
				first = prefix + "/" + first
			}
			seen[first] = true
		}
	})
	if len(seen) == 0 {
		return notFound("prefix", "prefix")
	}
	out := sortedKeys(seen)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// LeaseInput is the body of the lock and unlock routes.
type LeaseInput struct {
	Name  string        `json:"name"`
	Owner string        `json:"owner"`
	TTL   time.Duration `json:"ttl,omitempty"`
}

func (n *Node) certLease(op Op) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, p principal) error {
		in, e := decodeBody[LeaseInput](r)
		if e != nil {
			return e
		}
		return n.certPropose(w, r, &Command{Op: op, Cert: &CertCommand{Key: in.Name, Owner: in.Owner, TTL: in.TTL}}, nil)
	}
}

// OrderInput is the body of POST /internal/v1/certs/order.
type OrderInput struct {
	Name    string    `json:"name"`
	Outcome string    `json:"outcome"`
	Limits  *CALimits `json:"limits,omitempty"`
}

func (n *Node) certOrderRoute(w http.ResponseWriter, r *http.Request, p principal) error {
	in, e := decodeBody[OrderInput](r)
	if e != nil {
		return e
	}
	return n.certPropose(w, r, &Command{Op: OpCertOrder, Cert: &CertCommand{Name: in.Name, Outcome: in.Outcome, Limits: in.Limits}}, nil)
}

// decodeBody reads and strictly decodes a JSON body into a T.
func decodeBody[T any](r *http.Request) (T, *Error) {
	var in T
	body, e := readBody(r)
	if e != nil {
		return in, e
	}
	return in, DecodeStrict(body, &in)
}
