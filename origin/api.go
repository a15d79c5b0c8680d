package origin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/hashicorp/raft"

	"github.com/statusedge/statusedge/content"
)

// Request limits.
const (
	// MaxRequestBytes bounds any management request body (an update's
	// Markdown is further bounded by MaxBodyBytes).
	MaxRequestBytes = 1 << 20
	// MaxApplyBytes bounds a forwarded command (a whole imported site).
	MaxApplyBytes = 64 << 20
	maxIdemKey    = 255
)

// principal is who a request acts for: the operator or one site.
type principal struct {
	operator bool
	siteID   string
}

func (p principal) String() string {
	if p.operator {
		return "operator"
	}
	return "site:" + p.siteID
}

// Handler returns the management API (/v1/...) and the internal API
// (/internal/v1/...) of this replica.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	op := n.operatorOnly
	st := n.siteScoped

	mux.Handle("POST /v1/sites", op(n.createSite))
	mux.Handle("GET /v1/sites", op(n.listSites))
	mux.Handle("GET /v1/sites/{site}", st(n.getSite))
	mux.Handle("PATCH /v1/sites/{site}", st(n.updateSite))
	mux.Handle("DELETE /v1/sites/{site}", st(n.simpleWrite(OpDeleteSite)))
	mux.Handle("POST /v1/sites/{site}/token", st(n.rotateToken))

	mux.Handle("POST /v1/sites/{site}/components", st(n.inputWrite(OpCreateComponent, func(c *Command) (any, func() *Error) {
		c.ComponentIn = &ComponentInput{}
		c.NewIDs = []string{content.NewID()}
		return c.ComponentIn, func() *Error { return c.ComponentIn.Validate(true) }
	})))
	mux.Handle("GET /v1/sites/{site}/components", st(n.listComponents))
	mux.Handle("GET /v1/sites/{site}/components/{id}", st(n.getComponent(false)))
	mux.Handle("PATCH /v1/sites/{site}/components/{id}", st(n.inputWrite(OpUpdateComponent, func(c *Command) (any, func() *Error) {
		c.ComponentIn = &ComponentInput{}
		return c.ComponentIn, func() *Error { return c.ComponentIn.Validate(false) }
	})))
	mux.Handle("DELETE /v1/sites/{site}/components/{id}", st(n.simpleWrite(OpDeleteComponent)))

	mux.Handle("POST /v1/sites/{site}/groups", st(n.inputWrite(OpCreateGroup, func(c *Command) (any, func() *Error) {
		c.GroupIn = &GroupInput{}
		c.NewIDs = []string{content.NewID()}
		return c.GroupIn, func() *Error { return c.GroupIn.Validate(true) }
	})))
	mux.Handle("GET /v1/sites/{site}/groups/{id}", st(n.getComponent(true)))
	mux.Handle("PATCH /v1/sites/{site}/groups/{id}", st(n.inputWrite(OpUpdateGroup, func(c *Command) (any, func() *Error) {
		c.GroupIn = &GroupInput{}
		return c.GroupIn, func() *Error { return c.GroupIn.Validate(false) }
	})))
	mux.Handle("DELETE /v1/sites/{site}/groups/{id}", st(n.simpleWrite(OpDeleteGroup)))

	mux.Handle("POST /v1/sites/{site}/incidents", st(n.inputWrite(OpCreateIncident, func(c *Command) (any, func() *Error) {
		c.IncidentIn = &IncidentInput{}
		c.NewIDs = []string{content.NewID(), content.NewID()}
		return c.IncidentIn, func() *Error { return c.IncidentIn.Validate(true) }
	})))
	mux.Handle("GET /v1/sites/{site}/incidents", st(n.listIncidents))
	mux.Handle("GET /v1/sites/{site}/incidents/{id}", st(n.getIncident))
	mux.Handle("PATCH /v1/sites/{site}/incidents/{id}", st(n.inputWrite(OpUpdateIncident, func(c *Command) (any, func() *Error) {
		c.IncidentIn = &IncidentInput{}
		return c.IncidentIn, func() *Error { return c.IncidentIn.Validate(false) }
	})))
	mux.Handle("DELETE /v1/sites/{site}/incidents/{id}", st(n.simpleWrite(OpDeleteIncident)))
	mux.Handle("POST /v1/sites/{site}/incidents/{id}/updates", st(n.inputWrite(OpAddIncidentUpdate, func(c *Command) (any, func() *Error) {
		c.UpdateIn = &UpdateInput{}
		c.NewIDs = []string{content.NewID()}
		return c.UpdateIn, func() *Error {
			if e := c.UpdateIn.Validate(false); e != nil {
				return e
			}
			return checkDisplayAt(c.UpdateIn.DisplayAt, n.now())
		}
	})))

	mux.Handle("PATCH /v1/sites/{site}/incidents/{id}/updates/{update}", st(n.inputWrite(OpEditIncidentUpdate, func(c *Command) (any, func() *Error) {
		c.UpdateIn = &UpdateInput{}
		return c.UpdateIn, func() *Error {
			if e := c.UpdateIn.ValidateEdit(); e != nil {
				return e
			}
			return checkDisplayAt(c.UpdateIn.DisplayAt, n.now())
		}
	})))
	mux.Handle("DELETE /v1/sites/{site}/incidents/{id}/updates/{update}", st(n.simpleWrite(OpDeleteIncidentUpdate)))

	mux.Handle("POST /v1/sites/{site}/maintenances", st(n.inputWrite(OpCreateMaintenance, func(c *Command) (any, func() *Error) {
		c.MaintenanceIn = &MaintenanceInput{}
		c.NewIDs = []string{content.NewID(), content.NewID()}
		return c.MaintenanceIn, func() *Error { return c.MaintenanceIn.Validate(true) }
	})))
	mux.Handle("GET /v1/sites/{site}/maintenances", st(n.listMaintenances))
	mux.Handle("GET /v1/sites/{site}/maintenances/{id}", st(n.getMaintenance))
	mux.Handle("PATCH /v1/sites/{site}/maintenances/{id}", st(n.inputWrite(OpUpdateMaintenance, func(c *Command) (any, func() *Error) {
		c.MaintenanceIn = &MaintenanceInput{}
		return c.MaintenanceIn, func() *Error { return c.MaintenanceIn.Validate(false) }
	})))
	mux.Handle("DELETE /v1/sites/{site}/maintenances/{id}", st(n.simpleWrite(OpDeleteMaintenanceRestoring)))
	mux.Handle("POST /v1/sites/{site}/maintenances/{id}/updates", st(n.inputWrite(OpAddMaintUpdateRestoring, func(c *Command) (any, func() *Error) {
		c.UpdateIn = &UpdateInput{}
		c.NewIDs = []string{content.NewID()}
		return c.UpdateIn, func() *Error { return c.UpdateIn.Validate(true) }
	})))

	mux.Handle("POST /v1/sites/{site}/audiences", st(n.audienceWrite(OpCreateAudience)))
	mux.Handle("GET /v1/sites/{site}/audiences", st(n.listAudiences))
	mux.Handle("GET /v1/sites/{site}/audiences/{id}", st(n.getAudience))
	mux.Handle("PATCH /v1/sites/{site}/audiences/{id}", st(n.audienceWrite(OpUpdateAudience)))
	mux.Handle("DELETE /v1/sites/{site}/audiences/{id}", st(n.simpleWrite(OpDeleteAudience)))

	n.domainRoutes(mux)

	mux.Handle("GET /v1/cluster", op(n.clusterStatus))
	mux.Handle("POST /v1/cluster/join", op(n.clusterJoin))
	mux.Handle("POST /v1/cluster/remove", op(n.clusterRemove))
	mux.Handle("GET /metrics", op(func(w http.ResponseWriter, r *http.Request, _ principal) error {
		n.m.handler.ServeHTTP(w, r)
		return nil
	}))

	mux.HandleFunc("GET /livez", n.livez)
	mux.HandleFunc("GET /readyz", n.readyz)

	n.internalRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Message: "no such route", Err: ErrNotFound})
	})
	return n.m.instrument(n.gate(mux))
}

// gate holds every request about sites until the replica has re-applied
// what it had applied before its last stop (bounded by RenderWait, then
// 503): a restarted replica never answers from an older state, such as
// 404 for a site that exists or 401 for its valid token.
func (n *Node) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/sites") && !n.waitReady(r.Context()) {
			writeError(w, &Error{Status: http.StatusServiceUnavailable, Message: "replica is catching up after a restart", Err: ErrBehind})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (n *Node) hasLeader() bool { _, id := n.raft.LeaderWithID(); return id != "" }

// livez answers 200 while the process serves (no authentication, no
// tenant data): a liveness probe.
func (n *Node) livez(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "live"})
}

// readyz answers 200 once the replica has caught up, knows a leader and
// its disk is not stalled, 503 with the reason otherwise (no
// authentication, no tenant data): a readiness probe.
func (n *Node) readyz(w http.ResponseWriter, r *http.Request) {
	status := "ready"
	switch {
	case n.Fenced():
		status = "disk_stalled"
	case !n.Ready():
		status = "catching_up"
	case !n.hasLeader():
		status = "no_leader"
	}
	code := http.StatusOK
	if status != "ready" {
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, map[string]string{"status": status})
}

// apiFunc is a handler that returns its error; the wrapper writes it.
type apiFunc func(w http.ResponseWriter, r *http.Request, p principal) error

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// equalSecret compares in constant time (hashing first so the lengths match).
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1 && a != "" && b != ""
}

var (
	errNoToken  = &Error{Status: http.StatusUnauthorized, Message: "missing or unknown bearer token", Err: ErrUnauthorized}
	errOperator = &Error{Status: http.StatusForbidden, Message: "this route needs the operator token", Err: ErrForbidden}
)

func (n *Node) serve(w http.ResponseWriter, r *http.Request, p principal, fn apiFunc) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	if err := fn(w, r, p); err != nil {
		e := asError(err)
		if e.Status >= 500 {
			n.log.Warn("api error", "method", r.Method, "path", r.URL.Path, "error", err)
			n.leaderHeaders(w)
		}
		writeError(w, e)
	}
}

func (n *Node) operatorOnly(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if equalSecret(tok, n.cfg.OperatorToken) {
			n.serve(w, r, principal{operator: true}, fn)
			return
		}
		if tok != "" && n.tokenSite(HashToken(tok)) != "" {
			writeError(w, errOperator)
			return
		}
		writeError(w, errNoToken)
	})
}

func (n *Node) tokenSite(hash string) string {
	var id string
	n.fsm.read(func(st *state) { id = st.tokenSites[hash] })
	return id
}

// siteScoped admits the operator or the token of the site named in the path.
func (n *Node) siteScoped(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			writeError(w, errNoToken)
			return
		}
		if equalSecret(tok, n.cfg.OperatorToken) {
			n.serve(w, r, principal{operator: true}, fn)
			return
		}
		hash := HashToken(tok)
		var site, owner, ownerSlug string
		var ok bool
		n.fsm.read(func(st *state) {
			if s := st.site(r.PathValue("site")); s != nil {
				site = s.ID
				ok = subtle.ConstantTimeCompare([]byte(hash), []byte(st.Tokens[s.ID])) == 1
			}
			owner = st.tokenSites[hash]
			if s := st.Sites[owner]; s != nil {
				ownerSlug = s.Slug
			}
		})
		switch {
		case ok:
			n.serve(w, r, principal{siteID: site}, fn)
		case owner != "":
			// The same answer whether the site exists or not (a site token
			// learns nothing of other sites), naming the token's own site so
			// a typo in the site is plain.
			writeError(w, &Error{Status: http.StatusForbidden, Field: "site",
				Message: fmt.Sprintf("this token is for site %q only", ownerSlug), Err: ErrForbidden})
		default:
			writeError(w, errNoToken)
		}
	})
}

func writeError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	if e.Status == http.StatusUnauthorized {
		// A client without the right secret gets nothing more on this
		// connection: guessing costs it a new connection each time.
		w.Header().Set("Connection", "close")
	}
	msg := e.Message
	if e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
		msg = "internal error"
	}
	writeJSON(w, e.Status, map[string]any{"error": &Error{Status: e.Status, Field: e.Field, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"status":500,"message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func (n *Node) leaderHeaders(w http.ResponseWriter) {
	addr, api := n.LeaderAddr()
	if addr != "" {
		w.Header().Set("X-Statusedge-Leader", addr)
	}
	if api != "" {
		w.Header().Set("X-Statusedge-Leader-Api", api)
	}
}

// DecodeStrict decodes one JSON value into v, rejecting unknown fields and
// trailing data, and maps failures to 400 errors naming the field.
func DecodeStrict(body []byte, v any) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return malformed("", "the request needs a JSON body")
	}
	if !utf8.Valid(body) {
		return malformed("", "the body must be UTF-8 JSON")
	}
	if e := checkNames(body, v); e != nil {
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed("", "malformed JSON: data after the object")
	}
	return nil
}

// checkNames refuses what encoding/json lets through: a member name that
// matches a field only in another case ("Name" for "name"), and a name
// given twice (the last would win, unseen by whoever checked the first).
// It decodes body into a fresh value of v's type with JSON v2's exact,
// case-sensitive names; every other error is left to the decode proper, so
// only these two change what is accepted. Only API input goes through it:
// the raft log and snapshots decode as they always did.
func checkNames(body []byte, v any) *Error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return nil
	}
	err := jsonv2.Unmarshal(body, reflect.New(t.Elem()).Interface(), jsonv2.RejectUnknownMembers(true))
	var sem *jsonv2.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &sem) && errors.Is(sem.Err, jsonv2.ErrUnknownName):
		return malformed(truncate(pointerField(sem.JSONPointer)), "unknown field (names are matched exactly, in lower case)")
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return malformed(truncate(pointerField(syn.JSONPointer)), "given twice")
	}
	return nil
}

// pointerField is a JSON pointer as the field path errors name
// ("/branding/logo_url" is "branding.logo_url").
func pointerField(p jsontext.Pointer) string {
	return strings.Join(slices.Collect(p.Tokens()), ".")
}

func decodeError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("the request is over %d bytes", tooBig.Limit), Err: ErrMalformed}
	case errors.As(err, &syn):
		return malformed("", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return malformed("", "the body must be a JSON object")
		}
		return malformed(field, "must be a JSON %s", jsonKind(typ.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return malformed("", "malformed JSON: unexpected end")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f, _ = strconv.Unquote(f)
		return malformed(truncate(f), "unknown field")
	}
	return malformed("", "malformed JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "uint64", "float64":
		return "number"
	case "slice":
		return "array"
	case "map", "struct":
		return "object"
	}
	return "value of another type"
}

func readBody(r *http.Request) ([]byte, *Error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	return b, nil
}

// propose fills in the time, target and idempotency of cmd, proposes it and
// writes the answer.
func (n *Node) propose(w http.ResponseWriter, r *http.Request, p principal, cmd *Command, body []byte, wrap func(*Result) any) error {
	cmd.At = n.now().UTC()
	if ref := r.PathValue("site"); ref != "" && cmd.Site == "" {
		cmd.Site = ref
		if !p.operator {
			cmd.Site = p.siteID
		}
	}
	if cmd.ID == "" {
		cmd.ID = r.PathValue("id")
	}
	if cmd.UpdateID == "" {
		cmd.UpdateID = r.PathValue("update")
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" && r.Method == http.MethodPost {
		if len(key) > maxIdemKey || !utf8.ValidString(key) {
			return invalid("Idempotency-Key", "must be at most %d bytes of text", maxIdemKey)
		}
		mac := hmac.New(sha256.New, []byte(n.cfg.ClusterSecret))
		fmt.Fprintf(mac, "%s\x00%s\x00", r.Method, n.canonicalPath(r))
		mac.Write(body)
		cmd.Idem = &IdemKey{Key: p.String() + "\x00" + key, Fingerprint: hex.EncodeToString(mac.Sum(nil))}
	}
	cmd.Limits = CurrentLimits
	res, err := n.Propose(r.Context(), cmd)
	if err != nil {
		return err
	}
	return writeResult(w, res, wrap)
}

// canonicalPath is the request's path with the site named by its id,
// whether the client named it by id or slug: a retry of the same request
// under the same Idempotency-Key fingerprints the same either way.
func (n *Node) canonicalPath(r *http.Request) string {
	ref := r.PathValue("site")
	if ref == "" {
		return r.URL.Path
	}
	s := n.Site(ref)
	if s == nil || s.ID == ref {
		return r.URL.Path
	}
	prefix := "/v1/sites/" + ref
	if rest, ok := strings.CutPrefix(r.URL.Path, prefix); ok && (rest == "" || rest[0] == '/') {
		return "/v1/sites/" + s.ID + rest
	}
	return r.URL.Path
}

// writeResult writes a command's answer: its error, or its status and body
// (or what wrap makes of it).
func writeResult(w http.ResponseWriter, res *Result, wrap func(*Result) any) error {
	if res.Err != nil {
		return res.Err
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if res.Version != 0 {
		w.Header().Set("X-Statusedge-Version", strconv.FormatUint(res.Version, 10))
	}
	if res.Status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	var out any = res.Body
	if wrap != nil {
		out = wrap(res)
	}
	writeJSON(w, res.Status, out)
	return nil
}

// inputWrite decodes the body into the input prepare sets on the command,
// validates it, and proposes the command.
func (n *Node) inputWrite(op Op, prepare func(*Command) (any, func() *Error)) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, p principal) error {
		body, e := readBody(r)
		if e != nil {
			return e
		}
		cmd := &Command{Op: op}
		in, validate := prepare(cmd)
		if e := DecodeStrict(body, in); e != nil {
			return e
		}
		if e := validate(); e != nil {
			return e
		}
		return n.propose(w, r, p, cmd, body, nil)
	}
}

// MaxDisplayAhead is how far past the time it is posted an update's
// display_at may be (a clock a little fast; not a timeline written ahead).
const MaxDisplayAhead = 5 * time.Minute

// checkDisplayAt bounds a new update's display_at. It is checked where the
// request arrives, against that replica's clock, not in the state machine:
// entries already in raft logs replay as they were.
func checkDisplayAt(p *string, now time.Time) *Error {
	t, e := parseTime("display_at", p)
	if e != nil || t.IsZero() {
		return e
	}
	if t.After(now.Add(MaxDisplayAhead)) {
		return invalid("display_at", "must not be more than %s in the future", MaxDisplayAhead)
	}
	return nil
}

// simpleWrite proposes a command without a body (deletes).
func (n *Node) simpleWrite(op Op) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, p principal) error {
		return n.propose(w, r, p, &Command{Op: op}, nil, nil)
	}
}

func hashPassword(field string, pw *string) (*string, *Error) {
	if pw == nil {
		return nil, nil
	}
	if *pw == "" {
		return ptrTo(""), nil
	}
	h, err := content.HashPassword(*pw)
	if err != nil {
		return nil, invalid(field, "cannot be hashed")
	}
	return &h, nil
}

func (n *Node) audienceWrite(op Op) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, p principal) error {
		body, e := readBody(r)
		if e != nil {
			return e
		}
		in := &AudienceInput{}
		if e := DecodeStrict(body, in); e != nil {
			return e
		}
		if e := in.Validate(op == OpCreateAudience); e != nil {
			return e
		}
		cmd := &Command{Op: op, AudienceIn: in}
		if op == OpCreateAudience {
			cmd.NewIDs = []string{content.NewID()}
		}
		if cmd.PasswordHash, e = hashPassword("password", in.Password); e != nil {
			return e
		}
		in.Password = nil // never replicated in clear
		return n.propose(w, r, p, cmd, body, nil)
	}
}

// CreatedSite is the answer to POST /v1/sites. APIToken is shown once (not
// on an idempotent replay).
type CreatedSite struct {
	Site     json.RawMessage `json:"site"`
	APIToken string          `json:"api_token,omitempty"`
}

func (n *Node) createSite(w http.ResponseWriter, r *http.Request, p principal) error {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	in := &SiteInput{}
	if e := DecodeStrict(body, in); e != nil {
		return e
	}
	if (in.Hostnames == nil || len(*in.Hostnames) == 0) && in.Slug != nil && n.cfg.DefaultDomain != "" {
		in.Hostnames = &[]string{*in.Slug + "." + n.cfg.DefaultDomain}
	}
	if e := in.Validate(true); e != nil {
		return e
	}
	if e := checkWayIn(nil, in); e != nil {
		return e
	}
	if e := n.checkSiteHostnames(p, nil, in); e != nil {
		return e
	}
	token, hash := NewToken()
	cmd := &Command{Op: OpCreateSite, SiteIn: in, NewIDs: []string{content.NewID()}, TokenHash: hash}
	if e := cmd.hashAccess(in); e != nil {
		return e
	}
	return n.propose(w, r, p, cmd, body, func(res *Result) any {
		out := CreatedSite{Site: res.Body}
		if !res.Replayed {
			out.APIToken = token
		}
		return out
	})
}

// RotatedToken is the answer to POST /v1/sites/{site}/token. APIToken is
// shown once: an idempotent replay of the rotation answers without it.
type RotatedToken struct {
	SiteID   string `json:"site_id"`
	APIToken string `json:"api_token,omitempty"`
}

// rotateToken gives a site a new API token; the old one stops working.
func (n *Node) rotateToken(w http.ResponseWriter, r *http.Request, p principal) error {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	if b := bytes.TrimSpace(body); len(b) > 0 {
		var none struct{}
		if e := DecodeStrict(b, &none); e != nil {
			return e
		}
	}
	token, hash := NewToken()
	return n.propose(w, r, p, &Command{Op: OpRotateToken, TokenHash: hash}, body, func(res *Result) any {
		out := RotatedToken{SiteID: res.SiteID}
		if !res.Replayed {
			out.APIToken = token
		}
		return out
	})
}

func (n *Node) updateSite(w http.ResponseWriter, r *http.Request, p principal) error {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	in := &SiteInput{}
	if e := DecodeStrict(body, in); e != nil {
		return e
	}
	if e := in.Validate(false); e != nil {
		return e
	}
	if cur := n.Site(r.PathValue("site")); cur != nil {
		if e := checkWayIn(cur, in); e != nil {
			return e
		}
		if e := n.checkSiteHostnames(p, cur, in); e != nil {
			return e
		}
	}
	cmd := &Command{Op: OpPatchSite, SiteIn: in}
	if e := cmd.hashAccess(in); e != nil {
		return e
	}
	return n.propose(w, r, p, cmd, body, nil)
}

// hashAccess hashes in's site and staff passwords into cmd and takes the
// clear text out of in: it is never replicated.
func (cmd *Command) hashAccess(in *SiteInput) *Error {
	if in.Access == nil {
		return nil
	}
	var e *Error
	if cmd.PasswordHash, e = hashPassword("access.password", in.Access.Password); e != nil {
		return e
	}
	if cmd.StaffPasswordHash, e = hashPassword("access.staff_password", in.Access.StaffPassword); e != nil {
		return e
	}
	in.Access.Password, in.Access.StaffPassword = nil, nil
	return nil
}

// checkWayIn refuses a private site that nobody could ever enter: no page
// password and no allowed addresses, once in is applied to cur (nil: a new
// site); and a staff password on a site that is not an audience site. It is checked where the request arrives, not in the state machine,
// so entries already in raft logs replay as they were.
func checkWayIn(cur *content.Site, in *SiteInput) *Error {
	vis, hasPW, cidrs := content.Public, false, 0
	if cur != nil {
		vis, hasPW, cidrs = cur.Visibility, cur.Access.PasswordHash != "", len(cur.Access.AllowCIDRs)
	}
	if in.Visibility != nil {
		vis = *in.Visibility
	}
	if a := in.Access; a != nil {
		if a.Password != nil {
			hasPW = *a.Password != ""
		}
		if a.AllowCIDRs != nil {
			cidrs = len(*a.AllowCIDRs)
		}
	}
	if vis == content.Private && !hasPW && cidrs == 0 {
		return invalid("access.password", "a private site needs a password or allow_cidrs, or nobody can open it")
	}
	if a := in.Access; a != nil && a.StaffPassword != nil && *a.StaffPassword != "" && vis != content.AudienceSpecific {
		return invalid("access.staff_password", "only an audience site has a staff password (a private site's password already shows the whole site)")
	}
	return nil
}

// siteOf returns the site named in the path or a 404.
func (n *Node) siteOf(r *http.Request) (*content.Site, error) {
	s := n.Site(r.PathValue("site"))
	if s == nil {
		return nil, notFound("site", "site")
	}
	return s, nil
}

func (n *Node) listSites(w http.ResponseWriter, r *http.Request, p principal) error {
	out := []SiteView{}
	for _, s := range n.Sites() {
		out = append(out, ViewSite(s))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (n *Node) getSite(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := n.siteOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ViewSite(s))
	return nil
}

func (n *Node) listComponents(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := n.siteOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNilSlice(ViewComponents(s)))
	return nil
}

func (n *Node) getComponent(group bool) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, p principal) error {
		s, err := n.siteOf(r)
		if err != nil {
			return err
		}
		c := s.Component(r.PathValue("id"))
		if c == nil || (group && !c.Group) {
			return notFound("id", "component")
		}
		writeJSON(w, http.StatusOK, ViewComponent(s, c))
		return nil
	}
}

func (n *Node) listIncidents(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := n.siteOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNilSlice(s.Incidents))
	return nil
}

func (n *Node) getIncident(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := n.siteOf(r)
	if err != nil {
		return err
	}
	in := s.Incident(r.PathValue("id"))
	if in == nil {
		return notFound("id", "incident")
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

func (n *Node) listMaintenances(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := n.siteOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nonNilSlice(s.Maintenances))
	return nil
}

func (n *Node) getMaintenance(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := n.siteOf(r)
	if err != nil {
		return err
	}
	m := s.Maintenance(r.PathValue("id"))
	if m == nil {
		return notFound("id", "maintenance")
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (n *Node) listAudiences(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := n.siteOf(r)
	if err != nil {
		return err
	}
	out := []AudienceView{}
	for _, a := range s.Audiences {
		out = append(out, ViewAudience(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (n *Node) getAudience(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := n.siteOf(r)
	if err != nil {
		return err
	}
	a := s.AudienceByID(r.PathValue("id"))
	if a == nil {
		return notFound("id", "audience")
	}
	writeJSON(w, http.StatusOK, ViewAudience(a))
	return nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (n *Node) clusterStatus(w http.ResponseWriter, r *http.Request, p principal) error {
	st, err := n.Status()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (n *Node) clusterJoin(w http.ResponseWriter, r *http.Request, p principal) error {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	var in JoinInput
	if e := DecodeStrict(body, &in); e != nil {
		return e
	}
	if e := in.Validate(); e != nil {
		return e
	}
	if in.ClusterID != "" && in.ClusterID != n.ClusterID() {
		return &Error{Status: http.StatusConflict, Field: "cluster_id", Message: fmt.Sprintf("the replica belongs to cluster %s; this is cluster %s", in.ClusterID, n.ClusterID()), Err: ErrForeignCluster}
	}
	if !n.IsLeader() {
		return n.proxyToLeader(w, r, body)
	}
	idx, err := n.Join(r.Context(), in)
	if err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return n.proxyToLeader(w, r, body)
		}
		return &Error{Status: http.StatusServiceUnavailable, Message: "join failed; retry", Err: err}
	}
	w.Header().Set(indexHeader, strconv.FormatUint(idx, 10))
	writeJSON(w, http.StatusOK, map[string]string{"id": in.ID, "address": in.Address})
	return nil
}

func (n *Node) clusterRemove(w http.ResponseWriter, r *http.Request, p principal) error {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	var in RemoveInput
	if e := DecodeStrict(body, &in); e != nil {
		return e
	}
	if in.ID == "" {
		return invalid("id", "is required")
	}
	if !n.IsLeader() {
		return n.proxyToLeader(w, r, body)
	}
	idx, err := n.Remove(r.Context(), in.ID)
	if err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return n.proxyToLeader(w, r, body)
		}
		return &Error{Status: http.StatusServiceUnavailable, Message: "remove failed; retry", Err: err}
	}
	w.Header().Set(indexHeader, strconv.FormatUint(idx, 10))
	writeJSON(w, http.StatusOK, map[string]string{"id": in.ID})
	return nil
}

// indexHeader carries the raft index of a cluster change, so the replica
// that forwarded it can wait until it has applied it.
const indexHeader = "X-Statusedge-Index"

// proxyToLeader re-sends an operator request to the leader's API.
func (n *Node) proxyToLeader(w http.ResponseWriter, r *http.Request, body []byte) error {
	api := n.leaderAPI()
	if api == "" || api == n.cfg.APIAddr {
		return ErrNoLeader
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimRight(api, "/")+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoLeader, err)
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoLeader, err)
	}
	defer resp.Body.Close()
	// Read-your-writes: the replica that forwarded a cluster change shows
	// it before it answers (bounded; the change is made either way).
	if idx, err := strconv.ParseUint(resp.Header.Get(indexHeader), 10, 64); err == nil {
		wctx, cancel := context.WithTimeout(r.Context(), n.cfg.RenderWait)
		_ = n.WaitIndex(wctx, idx)
		cancel()
		w.Header().Set(indexHeader, resp.Header.Get(indexHeader))
	}
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, MaxRequestBytes))
	return nil
}

// reservedLabel reports whether a name under the platform's domain is one
// no site may take (as a hostname, or from LimitsContent on as a slug): it
// is (or may become) the platform's own. Apply checks slugs against it, so
// the list is part of the stored format: a name added later needs a new
// Limits version.
func reservedLabel(s string) bool {
	switch s {
	case "www", "api", "admin", "app", "edge", "origin", "status", "metrics", "internal", "static", "cdn", "mail",
		"smtp", "imap", "pop", "ftp", "ns", "ns1", "ns2", "mx", "dns", "auth", "login", "sso", "id", "account",
		"accounts", "dashboard", "console", "docs", "help", "support", "blog", "assets", "media", "img",
		"health", "localhost", "test", "dev", "staging", "statusedge":
		return true
	}
	return false
}

// checkSiteHostnames applies the hostname rules a request must meet (here,
// where it arrives, so entries already in raft logs replay as they were):
// no IP literal or address-like name for anyone (they would take over an
// edge's own address and its /metrics); under the platform's domain
// (Config.DefaultDomain) only the site's own "<slug>.<domain>" (not another
// slug's, not a reserved name, not the domain itself); and a site token may
// set no other name: custom domains go through the domains API, which
// routes one only once it is verified. The operator may set custom names.
func (n *Node) checkSiteHostnames(p principal, cur *content.Site, in *SiteInput) *Error {
	if in.Slug != nil && (cur == nil || *in.Slug != cur.Slug) && reservedLabel(*in.Slug) {
		return invalid("slug", "%q is reserved for the platform", *in.Slug) // apply says so too (LimitsContent)
	}
	slug := ""
	if cur != nil {
		slug = cur.Slug
	}
	if in.Slug != nil {
		slug = *in.Slug
	}
	for _, l := range []struct {
		field string
		list  *[]string
	}{{"hostnames", in.Hostnames}, {"add_hostnames", in.AddHostnames}} {
		if l.list == nil {
			continue
		}
		for _, h := range *l.list {
			if cur != nil && slices.Contains(cur.Hostnames, h) {
				continue // kept as it was
			}
			if e := n.checkSiteHostname(l.field, h, slug, p.operator); e != nil {
				return e
			}
		}
	}
	return nil
}

func (n *Node) checkSiteHostname(field, h, slug string, operator bool) *Error {
	labels := strings.Split(h, ".")
	if _, err := netip.ParseAddr(h); err == nil || isNumber(labels[len(labels)-1]) {
		return invalid(field, "%q is an address, not a hostname", h)
	}
	if d := n.cfg.DefaultDomain; d != "" && (h == d || strings.HasSuffix(h, "."+d)) {
		sub := strings.TrimSuffix(h, "."+d)
		switch {
		case h == d || reservedLabel(sub):
			return invalid(field, "%q is reserved for the platform", h)
		case sub != slug:
			return invalid(field, "%q is another site's default hostname; this site's is %q", h, slug+"."+d)
		}
		return nil
	}
	if !operator {
		return invalid(field, "a custom domain (%q) is added through /v1/sites/{site}/domains and routes once verified", h)
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
