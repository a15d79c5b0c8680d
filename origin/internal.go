package origin

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/gossip"
)

// Renderer turns a site snapshot into the bytes of one page. origin/render
// implements it. Errors: fs.ErrNotExist for a path the site does not have,
// content.ErrUnknownAudience for an audience it does not have.
type Renderer interface {
	Render(site *content.Site, audience, path string, now time.Time) (body []byte, contentType string, err error)
}

// Limits of the internal API.
const (
	MaxRenderWait   = 10 * time.Second
	MaxVersionsWait = 60 * time.Second
)

func (n *Node) internalRoutes(mux *http.ServeMux) {
	mux.Handle("POST /internal/v1/apply", n.internalOnly(false, n.internalApply))
	mux.Handle("GET /internal/v1/registry", n.internalOnly(true, n.internalRegistry))
	mux.Handle("GET /internal/v1/versions", n.internalOnly(true, n.internalVersions))
	mux.Handle("GET /internal/v1/render", n.internalOnly(true, n.internalRender))
	mux.Handle("GET /internal/v1/gossip-key", n.internalOnly(true, n.internalGossipKey))
	mux.Handle("GET /internal/v1/member", n.internal(false, false, n.internalMember))
	n.certRoutes(mux)
}

// GossipKeyAnswer is the answer of GET /internal/v1/gossip-key: the public
// key every gossip node checks the origins' announcements with.
type GossipKeyAnswer struct {
	VerifyKey string `json:"verify_key"` // hex ed25519 public key
}

func (n *Node) internalGossipKey(w http.ResponseWriter, r *http.Request) {
	pub := gossip.DeriveSignKey([]byte(n.cfg.ClusterSecret)).Public().(ed25519.PublicKey)
	writeJSON(w, http.StatusOK, GossipKeyAnswer{VerifyKey: hex.EncodeToString(pub)})
}

// internalOnly admits requests bearing the cluster secret, or for the
// edges' reads (edgeOK) the edge secret.
func (n *Node) internalOnly(edgeOK bool, fn http.HandlerFunc) http.Handler {
	return n.internal(edgeOK, true, fn)
}

// internal is internalOnly; with gated false a GET does not wait for the
// replica to be ready (GET /internal/v1/member must say it is not).
func (n *Node) internal(edgeOK, gated bool, fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		// Both comparisons run whatever the first says: the time taken does
		// not tell which secret was nearly right.
		cluster := equalSecret(tok, n.cfg.ClusterSecret)
		edge := n.cfg.EdgeSecret != "" && equalSecret(tok, n.cfg.EdgeSecret)
		switch {
		case cluster, edgeOK && edge:
		case edge:
			writeError(w, &Error{Status: http.StatusForbidden, Message: "the edge secret may only read", Err: ErrUnauthorized})
			return
		default:
			writeError(w, &Error{Status: http.StatusUnauthorized, Message: "missing or wrong cluster secret", Err: ErrUnauthorized})
			return
		}
		if gated && r.Method == http.MethodGet && !n.waitReady(r.Context()) {
			writeError(w, &Error{Status: http.StatusServiceUnavailable, Message: "replica is catching up after a restart", Err: ErrBehind})
			return
		}
		fn(w, r)
	})
}

// waitReady waits (at most RenderWait) for the replica to be Ready.
func (n *Node) waitReady(ctx context.Context) bool {
	if n.Ready() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RenderWait)
	defer cancel()
	return n.WaitReady(ctx) == nil
}

func (n *Node) internalApply(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxApplyBytes))
	if err != nil {
		writeError(w, decodeError(err))
		return
	}
	if !n.IsLeader() || n.Fenced() { // nothing applied: the follower may retry elsewhere
		writeError(w, &Error{Status: http.StatusMisdirectedRequest, Message: "not the leader", Err: ErrNoLeader})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), n.cfg.ApplyTimeout)
	defer cancel()
	res, err := n.applyLocal(ctx, data)
	if err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			writeError(w, &Error{Status: http.StatusMisdirectedRequest, Message: "not the leader", Err: ErrNoLeader})
			return
		}
		writeError(w, asError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (n *Node) internalRegistry(w http.ResponseWriter, r *http.Request) {
	if id := r.URL.Query().Get("site"); id != "" {
		// One site's entry: what an edge fetches when a site's version
		// passes its entry's (and for a site it has not seen yet).
		s := n.Site(id)
		if s == nil {
			writeError(w, notFound("site", "site"))
			return
		}
		e := s.Entry()
		// An edge that holds the entry as it is (only the version moved:
		// an incident's update) gets 304 and the version, not the bytes.
		e.Tag = entryTag(e)
		tag := e.Tag
		w.Header().Set("ETag", tag)
		w.Header().Set("X-Statusedge-Version", strconv.FormatUint(e.Version, 10))
		if q := r.URL.Query(); q.Get("have") == tag || r.Header.Get("If-None-Match") == tag {
			n.m.registry.WithLabelValues("unchanged").Inc()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		n.writeRegistry(w, "entry", e)
		return
	}
	reg := n.Registry()
	for i := range reg.Sites {
		reg.Sites[i].Tag = entryTag(reg.Sites[i])
	}
	w.Header().Set("X-Statusedge-Version", strconv.FormatUint(reg.Version, 10))
	n.writeRegistry(w, "full", reg)
}

// entryTag is the tag of a registry entry whatever its version: a hash of
// everything else in it (content.RegistryEntry.Tag).
func entryTag(e content.RegistryEntry) string {
	e.Version, e.Tag = 0, ""
	b, _ := json.Marshal(e) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// writeRegistry writes a registry answer and counts it by kind.
func (n *Node) writeRegistry(w http.ResponseWriter, kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, asError(err))
		return
	}
	n.m.registry.WithLabelValues(kind).Inc()
	n.m.registryBytes.WithLabelValues(kind).Add(float64(len(b)))
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// VersionsAnswer is the answer of GET /internal/v1/versions. Applied is
// an index this replica had applied when Sites was read (Sites reflects at
// least that much of the log): a site version at or below it that Sites
// does not reach does not exist, which lets an edge clamp back a version
// it heard of elsewhere. Asked with delta=1, the answer is a Delta when the
// replica can give one: Sites holds only the sites changed after the
// asked version, Removed those deleted after it (an edge far behind, or
// one asking a replica that restored a snapshot since, gets every site).
type VersionsAnswer struct {
	Version uint64            `json:"version"`
	Applied uint64            `json:"applied"`
	Sites   map[string]uint64 `json:"sites"`
	Delta   bool              `json:"delta,omitempty"`
	Removed []string          `json:"removed,omitempty"`
}

func (n *Node) internalVersions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after uint64
	if s := q.Get("after"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, malformed("after", "must be a version number"))
			return
		}
		after = v
	}
	wait := 30 * time.Second
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			writeError(w, malformed("wait", "must be a duration such as 30s"))
			return
		}
		wait = min(d, MaxVersionsWait)
	}
	extendWrite(w, wait)
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	_ = n.fsm.wait(ctx, func(st *state) bool { return st.Changed > after })
	applied := n.AppliedIndex() // before Sites: Sites then reflects at least this
	since := uint64(0)
	if q.Get("delta") == "1" {
		since = after
	}
	a := VersionsAnswer{Applied: applied}
	a.Version, a.Sites, a.Removed, a.Delta = n.fsm.versions(since)
	kind := "full"
	if a.Delta {
		kind = "delta"
	}
	n.m.versions.WithLabelValues(kind).Inc()
	n.m.versionsSites.WithLabelValues(kind).Add(float64(len(a.Sites)))
	writeJSON(w, http.StatusOK, a)
}

func (n *Node) internalRender(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	siteID, path, audience := q.Get("site"), q.Get("path"), q.Get("audience")
	if siteID == "" {
		writeError(w, malformed("site", "is required"))
		return
	}
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") || len(path) > 2048 {
		writeError(w, malformed("path", "must start with /"))
		return
	}
	var minVersion uint64
	if s := q.Get("min_version"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, malformed("min_version", "must be a version number"))
			return
		}
		minVersion = v
	}
	wait := n.cfg.RenderWait
	if s := r.Header.Get("X-Statusedge-Wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			writeError(w, malformed("X-Statusedge-Wait", "must be a duration such as 2s"))
			return
		}
		wait = min(d, MaxRenderWait)
	}
	if minVersion > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		err := n.WaitVersion(ctx, siteID, minVersion)
		cancel()
		if err != nil {
			writeError(w, &Error{Status: http.StatusServiceUnavailable, Field: "min_version", Message: "this replica has not applied that version yet", Err: ErrBehind})
			return
		}
	}
	now := n.now()
	if s := q.Get("at"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			writeError(w, malformed("at", "must be a time in unix seconds"))
			return
		}
		at := time.Unix(sec, 0)
		if at.Before(now.Add(-MaxRenderSkew)) || at.After(now.Add(MaxRenderSkew)) {
			writeError(w, invalid("at", "must be within %s of this replica's clock", MaxRenderSkew))
			return
		}
		now = at
	}
	site := n.Site(siteID)
	if site == nil {
		writeError(w, notFound("site", "site"))
		return
	}
	if e := viewerAllowed(site, q.Get("viewer"), audience); e != nil {
		writeError(w, e)
		return
	}
	n.render(w, r, site, audience, path, now)
}

// viewerAllowed checks that the viewer an edge renders for (viewer=public,
// private, audience or staff) is one the site's current access rules have:
// an edge working from an outdated registry entry (a site just made
// private, a staff password just removed) cannot get a page for a viewer
// the site no longer admits. Staff see an audience site whole (no
// audience), and only while it has a staff password. An edge that does not
// say (from before viewers) is not checked.
func viewerAllowed(site *content.Site, viewer, audience string) *Error {
	var want content.Visibility
	whole := audience == ""
	switch viewer {
	case "":
		return nil
	case "public":
		want = content.Public
	case "private":
		want = content.Private
	case "audience":
		want, whole = content.AudienceSpecific, !whole
	case "staff":
		want = content.AudienceSpecific
		whole = whole && site.Access.StaffPasswordHash != ""
	default:
		return malformed("viewer", "must be public, private, audience or staff")
	}
	if site.Visibility != want || !whole {
		return &Error{Status: http.StatusForbidden, Field: "viewer", Message: "the site's access rules do not admit this viewer", Err: ErrForbidden}
	}
	return nil
}

// MaxRenderSkew is how far from a replica's clock the time a render is
// asked for (at=) may be: an edge's clock a little off, or a minute
// rendered ahead.
const MaxRenderSkew = 10 * time.Minute

// render writes one rendered page, as of now, with its version headers and,
// while the site is live (content.Site.Live), X-Statusedge-Live: the page
// holds for the minute of now only.
func (n *Node) render(w http.ResponseWriter, r *http.Request, site *content.Site, audience, path string, now time.Time) {
	if n.cfg.Renderer == nil {
		writeError(w, &Error{Status: http.StatusServiceUnavailable, Message: "no renderer configured", Err: ErrClosed})
		return
	}
	if audience != "" && site.AudienceByID(audience) == nil {
		writeError(w, &Error{Status: http.StatusForbidden, Field: "audience", Message: "unknown audience", Err: ErrForbidden})
		return
	}
	body, ctype, err := n.cfg.Renderer.Render(site, audience, path, now)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		writeError(w, notFound("path", "page"))
		return
	case errors.Is(err, content.ErrUnknownAudience):
		writeError(w, &Error{Status: http.StatusForbidden, Field: "audience", Message: "unknown audience", Err: ErrForbidden})
		return
	case err != nil:
		n.log.Error("render", "site", site.ID, "path", path, "error", err)
		writeError(w, &Error{Status: http.StatusInternalServerError, Message: "render failed", Err: err})
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + strconv.FormatUint(site.Version, 10) + "-" + hex.EncodeToString(sum[:8]) + `"`
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("ETag", etag)
	h.Set("X-Statusedge-Version", strconv.FormatUint(site.Version, 10))
	if site.Live() {
		h.Set("X-Statusedge-Live", "1")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(body)
}

// PublicHandler serves public sites' pages by the request's Host, through
// the Renderer: what visitors get until (and besides) the edge. Private and
// audience sites are not served here (the edge admits their visitors).
func (n *Node) PublicHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(host, ".")
		if !n.waitReady(r.Context()) {
			http.Error(w, "catching up, retry", http.StatusServiceUnavailable)
			return
		}
		site := n.SiteByHost(host)
		if site == nil {
			http.Error(w, "no status page at this address", http.StatusNotFound)
			return
		}
		if site.Visibility != content.Public {
			http.Error(w, "this status page is private", http.StatusForbidden)
			return
		}
		path := r.URL.Path
		if r.URL.RawQuery != "" {
			path += "?" + r.URL.RawQuery
		}
		if strings.HasPrefix(r.URL.Path, "/api/v2/") { // as the edge: a public site's JSON is readable from any origin
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}
		n.render(w, r, site, "", path, n.now())
	})
}
