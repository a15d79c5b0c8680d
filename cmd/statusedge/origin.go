package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statusedge/statusedge/gossip"
	"github.com/statusedge/statusedge/origin"
	"github.com/statusedge/statusedge/origin/render"
)

// exitDamaged is the exit code for a data dir that cannot be read as it
// was written (raft.db or cluster-id damaged): restore it or remove the
// replica and add it again, never bootstrap over it.
const exitDamaged = 3

// exitDiskFailed is the exit code for a disk that refused raft's state
// (its current term) for --disk-fail-timeout: the replica fenced itself and
// stopped; free or replace the disk and start it again.
const exitDiskFailed = 4

// dataDirErr prints err on one line and returns its exit code.
func dataDirErr(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
	if errors.Is(err, origin.ErrDamagedStore) {
		return exitDamaged
	}
	return 1
}

// runOrigin runs one origin replica until ctx is done.
func runOrigin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statusedge origin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: statusedge origin --data DIR --raft-addr HOST:PORT --api-addr HOST:PORT [--bootstrap [--bootstrap-peers URL,...] | --join URL] [--region R] [--voter=true|false] [--id ID] [--operator-token T] [--cluster-secret S] [--edge-secret E]")
		fmt.Fprintln(fs.Output(), "\nRuns one origin replica: the raft-replicated content, the management API and the renderer.")
		fmt.Fprintln(fs.Output(), "Runs one origin replica. The first replica of a new cluster starts once with --bootstrap; every other")
		fmt.Fprintln(fs.Output(), "starts once with --join; after that each restarts from its own data dir (--join is then ignored).")
		fmt.Fprintln(fs.Output(), "Exit codes: 1 failure (data dir in use, another cluster's state), 2 bad usage, 3 damaged data dir, 4 disk failed (raft state could not be saved).")
		fs.PrintDefaults()
	}
	var (
		data      = fs.String("data", "", "data directory (raft log, stable store, snapshots)")
		raftAddr  = fs.String("raft-addr", "", "raft TCP address to bind")
		raftAdv   = fs.String("raft-advertise", "", "raft address peers dial (default: the bound address)")
		apiAddr   = fs.String("api-addr", "", "management and internal API address to bind")
		apiURL    = fs.String("api-url", "", "URL peers use to reach the API (default: http://<api-addr>)")
		join      = fs.String("join", "", "API URL of any cluster member to join through")
		region    = fs.String("region", "", "region name (informational)")
		voter     = fs.Bool("voter", true, "join as a voter (false: non-voter)")
		bootstrap = fs.Bool("bootstrap", false, "make a new single-voter cluster with a new cluster id: once, refused on a data dir that holds raft state or a cluster id")
		bootPeers = fs.String("bootstrap-peers", "", "with --bootstrap: comma-separated API URLs of the replicas meant to join; bootstrap is refused if one already belongs to a cluster")
		id        = fs.String("id", "", "raft server id (default: the raft address)")
		opToken   = fs.String("operator-token", os.Getenv("STATUSEDGE_OPERATOR_TOKEN"), "operator token (env STATUSEDGE_OPERATOR_TOKEN)")
		secret    = fs.String("cluster-secret", os.Getenv("STATUSEDGE_CLUSTER_SECRET"), "secret the replicas share (env STATUSEDGE_CLUSTER_SECRET)")
		edgeSec   = fs.String("edge-secret", os.Getenv("STATUSEDGE_EDGE_SECRET"), "secret that lets edges read the internal API and nothing else (env STATUSEDGE_EDGE_SECRET)")
		logLevel  = fs.String("log-level", "info", "log level: debug, info, warn, error")
		certSec   = fs.String("cert-secret", os.Getenv("STATUSEDGE_CERT_SECRET"), "secret that lets edges use the certificate storage and nothing else (env STATUSEDGE_CERT_SECRET)")
		certKey   = fs.String("cert-key", os.Getenv("STATUSEDGE_CERT_KEY"), "hex key (32 bytes) that seals certificate storage at rest, the same on every replica (env STATUSEDGE_CERT_KEY)")
		diskStall = fs.Duration("disk-stall-timeout", origin.DefaultDiskStallTimeout, "a leader whose write to raft.db takes longer steps down")
		diskFail  = fs.Duration("disk-fail-timeout", origin.DefaultDiskFailTimeout, "a replica whose disk refuses its raft term this long (fenced, retrying) exits with code 4")
		domainDNS = fs.String("domain-dns", "", "DNS server `host:port` for custom-domain checks (default: the system's)")
		gf        = registerGossipFlags(fs, false)
	)
	if ok, code := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "statusedge origin: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *data == "":
		return usageErr("--data is required")
	case *raftAddr == "":
		return usageErr("--raft-addr is required")
	case *apiAddr == "":
		return usageErr("--api-addr is required")
	case len(*opToken) < 16:
		return usageErr("--operator-token (or STATUSEDGE_OPERATOR_TOKEN) must be at least 16 characters")
	case len(*secret) < 16:
		return usageErr("--cluster-secret (or STATUSEDGE_CLUSTER_SECRET) must be at least 16 characters")
	case *edgeSec != "" && len(*edgeSec) < 16:
		return usageErr("--edge-secret (or STATUSEDGE_EDGE_SECRET) must be at least 16 characters")
	case *edgeSec != "" && *edgeSec == *secret:
		return usageErr("--edge-secret must differ from --cluster-secret: edges must not get the replicas' write power")
	case *bootstrap && *join != "":
		return usageErr("--bootstrap and --join exclude each other")
	case *bootPeers != "" && !*bootstrap:
		return usageErr("--bootstrap-peers needs --bootstrap")
	case *diskStall <= 0 || *diskFail <= 0:
		return usageErr("--disk-stall-timeout and --disk-fail-timeout must be positive")
	}
	lvl := hclog.LevelFromString(*logLevel)
	if lvl == hclog.NoLevel {
		return usageErr("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	var gc gossip.Config
	if gf.enabled() {
		if *region == "" {
			return usageErr("--region is required with --gossip-addr")
		}
		var slvl slog.Level
		_ = slvl.UnmarshalText([]byte(*logLevel))
		var err error
		if gc, err = gf.config(gossip.RoleOrigin, *region, slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slvl})),
			gossip.DeriveSignKey([]byte(*secret)), nil); err != nil {
			return usageErr("%v", err)
		}
	}
	if err := origin.CheckDataDir(*data); err != nil {
		return dataDirErr(stderr, "statusedge origin", err)
	}
	ln, err := net.Listen("tcp", *apiAddr)
	if err != nil {
		fmt.Fprintf(stderr, "statusedge origin: --api-addr: %v\n", err)
		return 1
	}
	cfg := origin.DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.RaftAddr, cfg.RaftAdvertise = *id, *data, *raftAddr, *raftAdv
	if cfg.ID == "" {
		cfg.ID = *raftAddr
		if *raftAdv != "" {
			cfg.ID = *raftAdv
		}
	}
	cfg.APIAddr = *apiURL
	if cfg.APIAddr == "" {
		cfg.APIAddr = "http://" + ln.Addr().String()
	}
	cfg.Region, cfg.Voter, cfg.Bootstrap = *region, *voter, *bootstrap
	cfg.DiskStallTimeout, cfg.DiskFailTimeout = *diskStall, *diskFail
	if *bootPeers != "" {
		cfg.BootstrapPeers = strings.Split(*bootPeers, ",")
	}
	cfg.OperatorToken, cfg.ClusterSecret, cfg.EdgeSecret = *opToken, *secret, *edgeSec
	cfg.CertSecret, cfg.DomainCheck.DNSServer = *certSec, *domainDNS
	if *certKey != "" {
		k, err := hex.DecodeString(*certKey)
		if err != nil || len(k) != 32 {
			fmt.Fprintln(stderr, "statusedge origin: --cert-key must be 64 hex digits (32 bytes)")
			ln.Close()
			return 2
		}
		cfg.CertKey = k
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "origin", Level: lvl, Output: stderr})
	rend, err := render.New()
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "statusedge origin: renderer: %v\n", err)
		return 1
	}
	cfg.Renderer = rend
	node, err := origin.Open(cfg)
	if err != nil {
		ln.Close()
		return dataDirErr(stderr, "statusedge origin", err)
	}
	srv := origin.HTTPServer(node.Handler())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(origin.Listener(ln, 0)) }()
	fmt.Fprintf(stdout, "origin %s: raft %s, API %s, region %q, voter %v\n", cfg.ID, node.RaftAddr(), cfg.APIAddr, cfg.Region, cfg.Voter)
	// In the gossip cluster, the leader announces every commit to the edges
	// of every region; anti-entropy carries this replica's versions.
	var g *gossip.Node
	stopAnnounce := func() {}
	if gf.enabled() {
		gc.Versions = func() map[string]uint64 { _, v := node.Versions(); return v }
		if g, err = gossip.New(gc); err != nil {
			fmt.Fprintf(stderr, "statusedge origin: gossip: %v\n", err)
			srv.Close()
			_ = node.Shutdown(context.Background())
			return 1
		}
		stopAnnounce = node.Announce(g)
		fmt.Fprintf(stdout, "origin %s: gossip %s\n", cfg.ID, gf.addr)
	}

	code := 0
	if *join != "" && node.HasState() {
		fmt.Fprintf(stdout, "origin %s: restarting from own state (cluster %s); --join is only for the first start\n", cfg.ID, node.ClusterID())
	}
	if *join != "" {
		jctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := node.JoinCluster(jctx, *join)
		cancel()
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "statusedge origin: %v\n", err)
			code = 1
		}
	}
	if code == 0 {
		select {
		case <-ctx.Done():
		case err := <-serveErr:
			fmt.Fprintf(stderr, "statusedge origin: serve: %v\n", err)
			code = 1
		case err := <-node.Fatal():
			fmt.Fprintf(stderr, "statusedge origin: %v (data dir %s): stopping; free or replace the disk, then start again\n", err, *data)
			code = exitDiskFailed
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopAnnounce()
	if g != nil {
		_ = g.Shutdown(sctx)
	}
	srv.Shutdown(sctx) // stop accepting, drain
	if err := node.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "statusedge origin: shutdown: %v\n", err)
		code = 1
	}
	return code
}
