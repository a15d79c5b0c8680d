// Package dev starts whole statusedge topologies on one machine: `statusedge
// dev` for people, and the same harness for tests.
//
// In: a Config (data directory, number of regions, addresses, an optional
// Redis). Out: a running System — per region an origin replica (raft on disk,
// management and internal API), an edge (fasthttp) in front of it, a gossip
// node for each of the two, and a redis-server when one is wanted — seeded
// with the demo site, and Shutdown to stop it all in order: edges, gossip,
// origins, Redis.
//
// Regions: the first region bootstraps a single-voter raft cluster; with
// three or more regions the first three hold the voters (a majority survives
// the loss of any one region) and every further region holds a non-voter
// replica that serves local reads. Everything binds to 127.0.0.1.
package dev

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/valyala/fasthttp"

	"github.com/statusedge/statusedge/content"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/edge"
	"github.com/statusedge/statusedge/gossip"
	"github.com/statusedge/statusedge/internal/redisserver"
	"github.com/statusedge/statusedge/origin"
	"github.com/statusedge/statusedge/origin/render"
	"github.com/statusedge/statusedge/skeleton"
	setls "github.com/statusedge/statusedge/tls"
)

// Config describes a topology. Zero values take the defaults noted.
type Config struct {
	// DataDir holds every replica's raft data and the dev secrets (required).
	DataDir string
	// Regions is the number of regions (default 1).
	Regions int
	// APIAddr and PageAddr are the first region's management API and edge
	// listen addresses (default 127.0.0.1:0, any free port); other regions
	// take free ports.
	APIAddr, PageAddr string
	// RedisAddr is an existing Redis for a single region. With no address,
	// StartRedis decides whether each region gets its own redis-server.
	RedisAddr string
	// StartRedis starts a redis-server per region (needs redis-server).
	StartRedis bool
	// Seed imports the demo site into an empty cluster (default true; set
	// NoSeed to leave it empty).
	NoSeed bool
	// RenderBudget is the edges' render budget (0: the edge's default).
	RenderBudget time.Duration
	// GossipOnly turns the edges' version long poll off, so that only
	// gossip tells them of new versions (tests of gossip itself).
	GossipOnly bool
	// Fast uses short raft and gossip timings (tests).
	Fast bool
	// GossipHook, if set, adjusts each gossip node's config before it
	// starts (fault injection in tests: a lossy or delaying Transport).
	GossipHook func(name string, c *gossip.Config)
	// EdgeHook, if set, adjusts each edge's config before it starts (a
	// benchmark whose visitors all come from loopback lifts the
	// per-client connection bound, for instance).
	EdgeHook func(region string, c *edge.Config)
	// HTTPS, if set, gives every edge HTTPS (and plain-HTTP) listeners with
	// certificates for verified custom domains from an ACME CA (https.go).
	HTTPS *HTTPS
	// DomainDNS is the DNS server (host:port) the origins check custom
	// domains with; set, their HTTP check may also reach loopback (dev and
	// tests, where every name resolves to 127.0.0.1).
	DomainDNS string
	// RaftLatency, if set, delays raft's traffic between replicas by this
	// much one way (each replica advertises a DelayProxy in front of its
	// raft port): with GossipHook's delaying transport, a WAN on one
	// machine. Regions are one replica each, so all raft traffic crosses it.
	RaftLatency time.Duration
	// Logger gets the system's logs; nil discards them.
	Logger *slog.Logger
}

// System is a running topology.
type System struct {
	Regions       []*Region
	OperatorToken string
	ClusterSecret string
	// SiteToken is the demo site's API token (only when this run seeded it).
	SiteToken string

	log      *slog.Logger
	sec      secrets
	seeds    []string // the origins' gossip addresses
	renderer *render.Renderer
	shell    *skeleton.Skeleton
	cfg      Config
}

// Region is one region of a System.
type Region struct {
	Name     string
	Origin   *origin.Node
	APIURL   string // management and internal API of the origin replica
	Edge     *edge.Server
	PageURL  string              // the edge, e.g. http://127.0.0.1:8080
	Redis    *redisserver.Server // nil when the region has no Redis of its own
	RedisURL string              // the Redis address the edge uses, "" for none
	// HTTPSAddr and HTTPAddr are the edge's HTTPS and plain-HTTP listeners
	// (with Config.HTTPS), TLS their certificate manager.
	HTTPSAddr, HTTPAddr string
	TLS                 *setls.Frontend

	originGossip, edgeGossip *gossip.Node
	apiServer                *http.Server
	edgeLn                   net.Listener
	pendingLn                net.Listener // opened before the edge starts, so the demo site knows its URL
	cancelSub                func()
	edgeDone                 chan error
	raftProxy                *DelayProxy
	dir                      string
}

type secrets struct {
	OperatorToken string `json:"operator_token"`
	ClusterSecret string `json:"cluster_secret"`
	EdgeSecret    string `json:"edge_secret"`
	SessionKey    string `json:"session_key"`
	CertSecret    string `json:"cert_secret"`
	CertKey       string `json:"cert_key"`
}

// Start builds and starts the topology described by cfg.
func Start(ctx context.Context, cfg Config) (*System, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("dev: DataDir is required")
	}
	if cfg.Regions <= 0 {
		cfg.Regions = 1
	}
	if cfg.RedisAddr != "" && cfg.Regions > 1 {
		return nil, errors.New("dev: RedisAddr is for one region; use StartRedis for several")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("dev: data dir: %w", err)
	}
	sec, err := loadSecrets(filepath.Join(cfg.DataDir, "secrets.json"))
	if err != nil {
		return nil, err
	}
	r, err := render.New()
	if err != nil {
		return nil, fmt.Errorf("dev: renderer: %w", err)
	}
	sk, err := skeleton.New()
	if err != nil {
		return nil, fmt.Errorf("dev: skeleton: %w", err)
	}
	s := &System{OperatorToken: sec.OperatorToken, ClusterSecret: sec.ClusterSecret, log: log, sec: sec, renderer: r, shell: sk, cfg: cfg}
	fail := func(err error) (*System, error) {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(sctx)
		return nil, err
	}

	for i := 0; i < cfg.Regions; i++ {
		if err := origin.CheckDataDir(filepath.Join(cfg.DataDir, regionName(i), "origin")); err != nil {
			return fail(fmt.Errorf("dev: %w", err))
		}
	}
	var seeds []string
	for i := 0; i < cfg.Regions; i++ {
		name := regionName(i)
		reg, err := s.startOrigin(ctx, i, name, sec, seeds)
		if err != nil {
			return fail(err)
		}
		s.Regions = append(s.Regions, reg)
		seeds = append(seeds, reg.originGossip.Addr().String())
	}
	// The edges' addresses are taken first: the demo site's URL (every
	// absolute link it emits) names the first region's.
	for i, r := range s.Regions {
		ln, err := s.listenEdge(i)
		if err != nil {
			return fail(err)
		}
		r.pendingLn = ln
	}
	if !cfg.NoSeed {
		if err := s.seed(ctx, s.Regions[0].PageURL); err != nil {
			return fail(err)
		}
	}
	s.seeds = seeds
	for i := range s.Regions {
		if err := s.StartEdge(ctx, i); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

func regionName(i int) string {
	names := []string{"eu", "us", "ap", "sa", "af", "me"}
	if i < len(names) {
		return names[i]
	}
	return "r" + strconv.Itoa(i)
}

func (s *System) startOrigin(ctx context.Context, i int, name string, sec secrets, seeds []string) (*Region, error) {
	cfg := s.cfg
	reg := &Region{Name: name, dir: filepath.Join(cfg.DataDir, name)}
	addr := "127.0.0.1:0"
	if i == 0 && cfg.APIAddr != "" {
		addr = cfg.APIAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dev: region %s: api listen: %w", name, err)
	}
	reg.APIURL = "http://" + ln.Addr().String()

	var node *origin.Node
	for attempt := 1; node == nil; attempt++ {
		oc := origin.DefaultConfig()
		oc.ID = "origin-" + name
		oc.DataDir = filepath.Join(reg.dir, "origin")
		oc.RaftAddr = "127.0.0.1:0"
		p, fresh, err := stablePort(reg.dir, "raft-port")
		if err == nil {
			oc.RaftAddr = "127.0.0.1:" + strconv.Itoa(p)
		}
		if cfg.RaftLatency > 0 {
			bind, err := freeLoopback()
			if err != nil {
				ln.Close()
				return nil, fmt.Errorf("dev: region %s: %w", name, err)
			}
			px, err := ListenDelay(oc.RaftAddr, bind, cfg.RaftLatency)
			if err != nil {
				ln.Close()
				return nil, fmt.Errorf("dev: region %s: %w", name, err)
			}
			reg.raftProxy = px
			oc.RaftAddr, oc.RaftAdvertise = bind, px.Addr
		}
		oc.APIAddr = reg.APIURL
		oc.Region = name
		oc.Voter = i < 3
		// The first region bootstraps once; later runs restart from its state.
		if i == 0 {
			id, err := origin.ReadClusterID(oc.DataDir)
			if err != nil {
				ln.Close()
				return nil, fmt.Errorf("dev: region %s: %w", name, err)
			}
			oc.Bootstrap = id == ""
		}
		oc.OperatorToken = sec.OperatorToken
		oc.ClusterSecret, oc.EdgeSecret = sec.ClusterSecret, sec.EdgeSecret
		oc.CertSecret = sec.CertSecret
		oc.CertKey, _ = hex.DecodeString(sec.CertKey)
		if cfg.DomainDNS != "" {
			oc.DomainCheck = origin.DomainCheckConfig{DNSServer: cfg.DomainDNS, AllowPrivate: true}
		}
		oc.Renderer = s.renderer
		oc.Logger = hclog.New(&hclog.LoggerOptions{Name: oc.ID, Level: hclog.Error, Output: io.Discard})
		if cfg.Fast {
			oc.HeartbeatTimeout, oc.ElectionTimeout, oc.LeaderLeaseTimeout = 500*time.Millisecond, 500*time.Millisecond, 250*time.Millisecond
			oc.CommitTimeout = 5 * time.Millisecond
		}
		n, err := origin.Open(oc)
		if err != nil {
			if reg.raftProxy != nil {
				reg.raftProxy.Close()
				reg.raftProxy = nil
			}
			// A fresh region's port was free when it was picked, but another
			// process may take it before raft listens: pick another.
			if fresh && errors.Is(err, syscall.EADDRINUSE) && attempt < 5 {
				_ = os.Remove(filepath.Join(reg.dir, "raft-port"))
				continue
			}
			ln.Close()
			return nil, fmt.Errorf("dev: region %s: %w", name, err)
		}
		node = n
	}
	reg.Origin = node
	reg.apiServer = origin.HTTPServer(node.Handler())
	go func() { _ = reg.apiServer.Serve(origin.Listener(ln, 0)) }()

	if i > 0 {
		if err := node.JoinCluster(ctx, s.Regions[0].APIURL); err != nil {
			return reg, fmt.Errorf("dev: region %s: join: %w", name, err)
		}
	}
	if err := waitFor(ctx, 20*time.Second, func() bool { _, api := node.LeaderAddr(); return api != "" }); err != nil {
		return reg, fmt.Errorf("dev: region %s: no leader: %w", name, err)
	}

	gc := s.gossipConfig("origin-"+name, gossip.RoleOrigin, name, seeds)
	gc.Versions = func() map[string]uint64 { _, v := node.Versions(); return v }
	g, err := gossip.New(gc)
	if err != nil {
		return reg, fmt.Errorf("dev: region %s: origin gossip: %w", name, err)
	}
	reg.originGossip = g
	// The leader announces what it commits; an edge that hears of a version
	// its own region's replica has not applied yet asks for a render "at
	// that version or newer", and the replica waits for it.
	reg.cancelSub = node.Announce(g)
	return reg, nil
}

func (s *System) gossipConfig(nodeName string, role gossip.Role, region string, seeds []string) gossip.Config {
	gc := gossip.DefaultConfig()
	gc.Name, gc.Role, gc.Region = nodeName, role, region
	gc.BindAddr, gc.BindPort = "127.0.0.1", 0
	gc.Seeds = append([]string(nil), seeds...)
	gc.Profile = gossip.ProfileLocal // one machine
	gc.Logger = s.log.With("gossip", nodeName)
	// Origins sign what they announce; edges hold only the public key, so
	// no edge (nor anyone holding what an edge holds) can raise a version.
	sign := gossip.DeriveSignKey([]byte(s.sec.ClusterSecret))
	if role == gossip.RoleOrigin {
		gc.SignKey = sign
	} else {
		gc.VerifyKey = sign.Public().(ed25519.PublicKey)
	}
	if s.cfg.GossipHook != nil {
		s.cfg.GossipHook(nodeName, &gc)
	}
	return gc
}

// StartEdge starts region i's edge and its gossip node (again, after
// StopEdge: same listen address and Redis). It returns once the edge has the
// registry and its gossip node has completed one anti-entropy exchange, so a
// restarted edge has caught up before it calls itself ready.
// listenEdge opens region i's page address: the one it had (a restart
// keeps it), the configured one for the first region, or a free port.
func (s *System) listenEdge(i int) (net.Listener, error) {
	reg := s.Regions[i]
	addr := "127.0.0.1:0"
	switch {
	case reg.PageURL != "":
		addr = strings.TrimPrefix(reg.PageURL, "http://")
	case i == 0 && s.cfg.PageAddr != "":
		addr = s.cfg.PageAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dev: region %s: edge listen: %w", reg.Name, err)
	}
	reg.PageURL = "http://" + ln.Addr().String()
	return ln, nil
}

func (s *System) StartEdge(ctx context.Context, i int) error {
	cfg, reg, sec, seeds := s.cfg, s.Regions[i], s.sec, s.seeds
	if reg.Edge != nil {
		return fmt.Errorf("dev: region %s: edge already running", reg.Name)
	}
	switch {
	case reg.RedisURL != "":
	case cfg.RedisAddr != "":
		reg.RedisURL = cfg.RedisAddr
	case cfg.StartRedis:
		rd, err := redisserver.Start(ctx, filepath.Join(reg.dir, "redis"))
		if err != nil {
			return fmt.Errorf("dev: region %s: %w", reg.Name, err)
		}
		reg.Redis, reg.RedisURL = rd, rd.Addr
	}
	key, _ := hex.DecodeString(sec.SessionKey)
	ec := edge.DefaultConfig()
	ec.Region = reg.Name
	// Its own region's replica first, then the others' (reads only).
	var others []string
	for _, o := range s.Regions {
		if o != reg {
			others = append(others, o.APIURL)
		}
	}
	ec.Origin = edge.NewHTTPOrigin(reg.APIURL, sec.EdgeSecret, nil, others...)
	ec.Shell = s.shell
	ec.RedisAddr = reg.RedisURL
	ec.SessionKey = key
	ec.Logger = s.log.With("edge", reg.Name)
	if !cfg.NoSeed {
		ec.LoopbackSite = demo.SiteID // http://127.0.0.1:port/ works in every client
	}
	if cfg.RenderBudget > 0 {
		ec.RenderBudget = cfg.RenderBudget
	}
	if cfg.GossipOnly {
		ec.VersionsWait = -1
	}
	if cfg.EdgeHook != nil {
		cfg.EdgeHook(reg.Name, &ec)
	}
	if cfg.HTTPS != nil {
		f, err := s.listenHTTPS(i)
		if err != nil {
			return err
		}
		reg.TLS = f
		ec.OnDomains = f.OnDomains
		ec.Collectors = f.Manager().Collectors()
	}
	e, err := edge.New(ec)
	if err != nil {
		return fmt.Errorf("dev: region %s: edge: %w", reg.Name, err)
	}
	reg.Edge = e
	ln := reg.pendingLn
	reg.pendingLn = nil
	if ln == nil {
		if ln, err = s.listenEdge(i); err != nil {
			return err
		}
	}
	reg.edgeLn = ln
	reg.edgeDone = make(chan error, 1)
	go func() { reg.edgeDone <- e.Serve(ln) }()
	if reg.TLS != nil {
		reg.TLS.Serve(e.ServeWith, e.HTTPSHandler(), func(acme fasthttp.RequestHandler, port string) fasthttp.RequestHandler {
			return e.PlainHandler(acme, true, port)
		}, nil)
	}

	gc := s.gossipConfig("edge-"+reg.Name, gossip.RoleEdge, reg.Name, seeds)
	gc.Invalidator = e
	if reg.TLS != nil {
		gc.CertListener = reg.TLS.Manager()
	}
	g, err := gossip.New(gc)
	if err != nil {
		return fmt.Errorf("dev: region %s: edge gossip: %w", reg.Name, err)
	}
	reg.edgeGossip = g
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := e.WaitReady(wctx); err != nil {
		return fmt.Errorf("dev: region %s: edge not ready: %w", reg.Name, err)
	}
	if err := g.WaitSynced(wctx); err != nil {
		return fmt.Errorf("dev: region %s: edge gossip not synced: %w", reg.Name, err)
	}
	if err := e.WaitFresh(wctx); err != nil {
		return fmt.Errorf("dev: region %s: %w", reg.Name, err)
	}
	return nil
}

// StopEdge stops region i's edge (draining it) and makes its gossip node
// leave, as a crashed or redeployed edge would disappear.
func (s *System) StopEdge(ctx context.Context, i int) error {
	reg := s.Regions[i]
	var errs []error
	if reg.TLS != nil {
		if err := reg.TLS.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		reg.TLS = nil
	}
	if reg.Edge != nil {
		if err := reg.Edge.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		reg.Edge = nil
	}
	if reg.edgeGossip != nil {
		if err := reg.edgeGossip.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		reg.edgeGossip = nil
	}
	return errors.Join(errs...)
}

// seed imports the demo site when the cluster has no site yet.
// seed imports the demo site, served at url, into an empty cluster; a
// cluster that has it already gets its URL updated when the address changed.
func (s *System) seed(ctx context.Context, url string) error {
	leader := s.Regions[0].Origin
	var site *content.Site
	if old := leader.Site(demo.SiteID); old != nil {
		if old.URL == url {
			return nil
		}
		res, err := leader.Propose(ctx, &origin.Command{Op: origin.OpUpdateSite, At: time.Now(), Site: demo.SiteID,
			SiteIn: &origin.SiteInput{URL: &url}})
		if err == nil && res.Err != nil {
			err = res.Err
		}
		if err != nil {
			return fmt.Errorf("dev: the demo site's URL: %w", err)
		}
		site = leader.Site(demo.SiteID)
	} else if len(leader.Sites()) > 0 {
		return nil // a data dir of someone else's sites: leave it as it is
	} else {
		d := demo.Site(time.Now())
		d.URL = url
		var err error
		if site, err = leader.ImportSite(ctx, d); err != nil {
			return fmt.Errorf("dev: seed the demo site: %w", err)
		}
	}
	// Every replica has the site before any edge asks for it.
	for _, r := range s.Regions {
		if err := r.Origin.WaitVersion(ctx, site.ID, site.Version); err != nil {
			return fmt.Errorf("dev: region %s: demo site not replicated: %w", r.Name, err)
		}
	}
	return nil
}

// Shutdown stops the system in order: edges stop accepting and drain, gossip
// nodes leave, origins stop serving and shut raft down, Redis stops.
func (s *System) Shutdown(ctx context.Context) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, r := range s.Regions {
		if r.Edge == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.TLS != nil {
				if err := r.TLS.Shutdown(ctx); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("edge %s https: %w", r.Name, err))
					mu.Unlock()
				}
			}
			if err := r.Edge.Shutdown(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("edge %s: %w", r.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Gossip nodes leave together: each leave is bounded (gossip.MaxLeave),
	// and one after the other they would add up.
	for _, r := range s.Regions {
		if r.cancelSub != nil {
			r.cancelSub()
			r.cancelSub = nil
		}
		for _, g := range []*gossip.Node{r.edgeGossip, r.originGossip} {
			if g != nil {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = g.Shutdown(ctx)
				}()
			}
		}
	}
	wg.Wait()
	// Stop taking API requests everywhere before raft stops anywhere, so no
	// write is left waiting on a quorum that is going away; a request still
	// running after a short drain is cut off.
	for _, r := range s.Regions {
		if r.apiServer == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if r.apiServer.Shutdown(dctx) != nil {
				_ = r.apiServer.Close()
			}
		}()
	}
	wg.Wait()
	// Then raft, followers first.
	for i := len(s.Regions) - 1; i >= 0; i-- {
		r := s.Regions[i]
		if r.cancelSub != nil {
			r.cancelSub()
		}
		if r.Origin != nil {
			if err := r.Origin.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("origin %s: %w", r.Name, err))
			}
		}
		if r.raftProxy != nil {
			_ = r.raftProxy.Close()
		}
		if r.Redis != nil {
			r.Redis.Stop()
		}
	}
	return errors.Join(errs...)
}

func loadSecrets(path string) (secrets, error) {
	var sec secrets
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &sec); err != nil {
			return sec, fmt.Errorf("dev: %s: %w", path, err)
		}
		if sec.EdgeSecret != "" && sec.CertSecret != "" && sec.CertKey != "" {
			return sec, nil
		}
		// a data dir from before edge secrets or certificate storage
		sec.EdgeSecret = cmp.Or(sec.EdgeSecret, randomHex(32))
		sec.CertSecret = cmp.Or(sec.CertSecret, randomHex(32))
		sec.CertKey = cmp.Or(sec.CertKey, randomHex(32))
		return sec, saveSecrets(path, sec)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return sec, fmt.Errorf("dev: %w", err)
	}
	sec = secrets{OperatorToken: "op_" + randomHex(20), ClusterSecret: randomHex(32), EdgeSecret: randomHex(32), SessionKey: randomHex(32),
		CertSecret: randomHex(32), CertKey: randomHex(32)}
	return sec, saveSecrets(path, sec)
}

func saveSecrets(path string, sec secrets) error {
	b, _ := json.MarshalIndent(sec, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("dev: save secrets: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// stablePort keeps a region's raft port across restarts (raft remembers its
// peers by address), picking a free one the first time.
func stablePort(dir, name string) (port int, fresh bool, err error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil {
		if p, err := strconv.Atoi(string(b)); err == nil {
			return p, false, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, false, err
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, false, err
	}
	return p, true, os.WriteFile(path, []byte(strconv.Itoa(p)), 0o600)
}

// freeLoopback returns a 127.0.0.1 address with a port free at the moment.
func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitFor(ctx context.Context, d time.Duration, ok func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
