package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/statusedge/statusedge/edge"
	"github.com/statusedge/statusedge/gossip"
	"github.com/statusedge/statusedge/skeleton"
)

// prefixList is a repeatable CIDR flag.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	s := make([]string, len(*p))
	for i, x := range *p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") { // a bare address is a /32 or /128
			a, err := netip.ParseAddr(f)
			if err != nil {
				return err
			}
			*p = append(*p, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		x, err := netip.ParsePrefix(f)
		if err != nil {
			return err
		}
		*p = append(*p, x.Masked())
	}
	return nil
}

// edgeMemoryOverhead is the soft memory limit's allowance beyond L1: the
// registry, Redis' client-side cache, connections and the runtime.
const edgeMemoryOverhead = 128 << 20

func runEdge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statusedge edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: statusedge edge --origin URL --edge-secret S [flags]\n\nRun one edge node: the visitor-facing cache in front of a region's origin.\n\nflags:")
		fs.PrintDefaults()
	}
	d := edge.DefaultConfig()
	region := fs.String("region", "local", "`name` of this edge's region")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to serve visitors on")
	metricsListen := fs.String("metrics-listen", "", "`address` to serve /metrics on for Prometheus (empty: none; the visitors' address then answers /metrics only to loopback peers that no proxy forwarded)")
	redisAddr := fs.String("redis", "", "regional Redis `host:port` (empty: no L2)")
	originURL := fs.String("origin", "", "the region's origin replica, e.g. http://127.0.0.1:7070, then (comma-separated) other regions' replicas to fall back on when it cannot answer (required)")
	secret := fs.String("edge-secret", "", "the origins' edge secret, for reading their internal API (or $STATUSEDGE_EDGE_SECRET)")
	clusterSecret := fs.String("cluster-secret", "", "the replicas' cluster secret instead of --edge-secret (or $STATUSEDGE_CLUSTER_SECRET); it also lets the edge write: avoid")
	l1 := fs.Int64("l1-bytes", d.L1Bytes, "bound of the in-process cache, in `bytes`")
	budget := fs.Duration("render-budget", d.RenderBudget, "wait this long for a render before sending the skeleton")
	sessionKey := fs.String("session-key", "", "key (>= 32 bytes) that signs session cookies; default: derived from the secret, so every edge agrees")
	var trusted prefixList
	fs.Var(&trusted, "trusted-proxy", "`CIDR` whose X-Forwarded-For is believed (repeatable, or comma-separated)")
	verbose := fs.Bool("v", false, "debug logs (--log-level debug)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error (as statusedge origin)")
	gf := registerGossipFlags(fs, true)
	hf := registerHTTPSFlags(fs)
	poll := fs.Bool("versions-poll", true, "also long-poll the origin for new versions (with gossip, a fallback); false: gossip alone tells of new versions, and the registry is still reloaded every 30 s")
	staleAfter := fs.Duration("stale-after", d.StaleAfter, "mark every page stale (note, X-Statusedge-Stale, short Cache-Control) when no origin has answered, or a known newer version is not served, for this long")
	if ok, code := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "statusedge edge: unexpected arguments %q\n", fs.Args())
		return 2
	}
	*secret = cmp.Or(*secret, os.Getenv("STATUSEDGE_EDGE_SECRET"), *clusterSecret, os.Getenv("STATUSEDGE_CLUSTER_SECRET"))
	if *originURL == "" || *secret == "" {
		fmt.Fprintln(stderr, "statusedge edge: --origin and --edge-secret are required (see statusedge edge -h)")
		return 2
	}
	key := []byte(*sessionKey)
	if *sessionKey == "" {
		m := hmac.New(sha256.New, []byte(*secret))
		m.Write([]byte("statusedge edge session key v1"))
		key = m.Sum(nil)
	}
	level, ok := logLevelFlag(*logLevel, *verbose)
	if !ok {
		fmt.Fprintf(stderr, "statusedge edge: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	var gc gossip.Config
	if gf.enabled() {
		verify, err := gf.verifyKey()
		if err == nil {
			// Until the origin tells it the real key, check the flags with a
			// placeholder: usage errors must not wait for the origin.
			placeholder := verify
			if placeholder == nil {
				placeholder = make(ed25519.PublicKey, ed25519.PublicKeySize)
			}
			gc, err = gf.config(gossip.RoleEdge, *region, log, nil, placeholder)
			gc.VerifyKey = verify
		}
		if err != nil {
			fmt.Fprintf(stderr, "statusedge edge: %v\n", err)
			return 2
		}
	} else if !*poll {
		fmt.Fprintln(stderr, "statusedge edge: --versions-poll=false needs --gossip-addr: the edge would never hear of a change")
		return 2
	}
	sk, err := skeleton.New()
	if err != nil {
		fmt.Fprintf(stderr, "statusedge edge: skeleton: %v\n", err)
		return 1
	}
	cfg := d
	cfg.Region, cfg.RedisAddr, cfg.L1Bytes, cfg.RenderBudget = *region, *redisAddr, *l1, *budget
	// The edge's memory is mostly L1. Without a soft limit the GC lets the
	// heap grow to about twice the live bytes; with one, RSS stays near the
	// L1 bound plus a fixed overhead. GOMEMLIMIT, when set, wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(*l1 + edgeMemoryOverhead)
	}
	origins := strings.Split(*originURL, ",")
	httpOrigin := edge.NewHTTPOrigin(origins[0], *secret, nil, origins[1:]...)
	cfg.StaleAfter = *staleAfter
	cfg.Origin = httpOrigin
	cfg.Shell, cfg.SessionKey, cfg.TrustedProxies, cfg.Logger = sk, key, trusted, log
	if !*poll {
		cfg.VersionsWait = -1
	}
	if cfg.RenderTimeout < cfg.RenderBudget {
		cfg.RenderTimeout = cfg.RenderBudget
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "statusedge edge: %v\n", err)
		return 2
	}
	tf, err := hf.frontend(*originURL, log)
	if err != nil {
		fmt.Fprintf(stderr, "statusedge edge: %v\n", err)
		return 2
	}
	if tf != nil {
		cfg.OnDomains = tf.OnDomains
		cfg.Collectors = tf.Manager().Collectors()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_ = tf.Shutdown(sctx)
		}()
	}
	srv, err := edge.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "statusedge edge: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "statusedge edge: %v\n", err)
		_ = srv.Shutdown(context.Background())
		return 1
	}
	log.Info("edge listening", "addr", ln.Addr().String(), "region", *region, "origin", *originURL, "redis", *redisAddr)
	fmt.Fprintf(stdout, "edge listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if *metricsListen != "" {
		mln, err := net.Listen("tcp", *metricsListen)
		if err != nil {
			fmt.Fprintf(stderr, "statusedge edge: --metrics-listen: %v\n", err)
			_ = srv.Shutdown(context.Background())
			return 1
		}
		log.Info("metrics listening", "addr", mln.Addr().String())
		go func() {
			if err := srv.ServeMetrics(mln); err != nil && !errors.Is(err, edge.ErrServerClosed) {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	if tf != nil {
		serveHTTPS(tf, srv, errc)
		fmt.Fprintf(stdout, "edge listening on https://%s", tf.HTTPSAddr())
		if a := tf.HTTPAddr(); a != "" {
			fmt.Fprintf(stdout, " and http://%s (ACME, redirects)", a)
		}
		fmt.Fprintln(stdout)
	}
	// In the gossip cluster, invalidations from every region's origin
	// reach this edge, and anti-entropy repairs what it missed.
	var g *gossip.Node
	if gf.enabled() {
		gc.Invalidator = srv
		if gc.VerifyKey == nil {
			// Every version heard on gossip must carry an origin's
			// signature; the origin says which key signs.
			if gc.VerifyKey, err = fetchVerifyKey(ctx, httpOrigin, log); err != nil {
				if errors.Is(err, edge.ErrUnauthorized) {
					fmt.Fprintf(stderr, "statusedge edge: %v: check --edge-secret (or $STATUSEDGE_EDGE_SECRET)\n", err)
				}
				_ = srv.Shutdown(context.Background())
				return 1
			}
		}
		if tf != nil {
			gc.CertListener = tf.Manager()
		}
		if g, err = gossip.New(gc); err != nil {
			log.Error("gossip", "err", err)
			_ = srv.Shutdown(context.Background())
			return 1
		}
		log.Info("gossiping", "addr", gf.addr, "seeds", gc.Seeds)
	}
	select {
	case err := <-srv.Err():
		fmt.Fprintf(stderr, "statusedge edge: %v: check --edge-secret (or $STATUSEDGE_EDGE_SECRET)\n", err)
		if g != nil {
			_ = g.Shutdown(context.Background())
		}
		_ = srv.Shutdown(context.Background())
		return 1
	case err := <-errc:
		log.Error("edge stopped", "err", err)
		if g != nil {
			_ = g.Shutdown(context.Background())
		}
		_ = srv.Shutdown(context.Background())
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if g != nil {
		_ = g.Shutdown(sctx)
	}
	if tf != nil {
		_ = tf.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	<-errc
	log.Info("edge stopped")
	return 0
}

// fetchVerifyKey asks the origin for the gossip verify key, retrying while
// it is unreachable, until ctx ends; a refused secret ends it at once.
func fetchVerifyKey(ctx context.Context, o *edge.HTTPOrigin, log *slog.Logger) (ed25519.PublicKey, error) {
	backoff := 100 * time.Millisecond
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		k, err := o.GossipVerifyKey(rctx)
		cancel()
		if err == nil || errors.Is(err, edge.ErrUnauthorized) {
			return k, err
		}
		log.Warn("gossip verify key: asking the origin", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
