package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/dev"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statusedge dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./data", "directory for raft data and dev secrets")
	regions := fs.Int("regions", 1, "number of regions on this machine (each: origin replica, edge, and with 2+ regions its own redis-server)")
	apiAddr := fs.String("api-addr", "127.0.0.1:7080", "first region's management API address")
	listen := fs.String("listen", "127.0.0.1:8080", "first region's edge (page) address")
	redis := fs.String("redis", "", "an existing Redis (host:port) for the single region's edge; none: no L2 cache")
	startRedis := fs.Bool("start-redis", false, "start a redis-server per region (default with 2+ regions when redis-server is installed)")
	budget := fs.Duration("render-budget", 0, "edge render budget before the skeleton is sent (0: the edge default)")
	verbose := fs.Bool("v", false, "log at debug level (--log-level debug)")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error (as statusedge origin and edge)")
	https := fs.Bool("https", false, "also serve HTTPS: a local ACME CA (Pebble, installed by scripts/setup) issues the demo's custom domain "+devDomain+" its certificate")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: statusedge dev [flags]\n\nRuns the whole system in this process with the demo site \"Acme Cloud\".\n\nflags:")
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "statusedge dev: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *regions < 1 || *regions > 6 {
		fmt.Fprintln(stderr, "statusedge dev: --regions: must be between 1 and 6")
		return 2
	}
	if *redis != "" && *regions > 1 {
		fmt.Fprintln(stderr, "statusedge dev: --redis: only with one region (several regions start their own)")
		return 2
	}
	if !*startRedis && *regions > 1 {
		if _, err := exec.LookPath("redis-server"); err == nil {
			*startRedis = true
		}
	}
	level, ok := logLevelFlag(*logLevel, *verbose)
	if !ok {
		fmt.Fprintf(stderr, "statusedge dev: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	dc := dev.Config{
		DataDir: *data, Regions: *regions, APIAddr: *apiAddr, PageAddr: *listen,
		RedisAddr: *redis, StartRedis: *startRedis, RenderBudget: *budget, Logger: log,
	}
	if *https {
		ca, h, err := startDevCA(ctx, *data)
		if err != nil {
			fmt.Fprintf(stderr, "statusedge dev: --https: %v\n", err)
			return 1
		}
		defer ca.Stop()
		dc.HTTPS, dc.DomainDNS = h, ca.DNSAddr
		sys, code := startDev(ctx, dc, stdout, stderr)
		if sys == nil {
			return code
		}
		if err := devVerifyDomain(ctx, sys, ca, *data, stdout); err != nil {
			fmt.Fprintf(stderr, "statusedge dev: --https: %v\n", err)
		}
		return waitDev(ctx, sys, stdout, stderr)
	}
	sys, code := startDev(ctx, dc, stdout, stderr)
	if sys == nil {
		return code
	}
	return waitDev(ctx, sys, stdout, stderr)
}

// startDev starts the system and prints its addresses; nil and the exit
// code when it cannot start.
func startDev(ctx context.Context, dc dev.Config, stdout, stderr io.Writer) (*dev.System, int) {
	sys, err := dev.Start(ctx, dc)
	if err != nil {
		return nil, dataDirErr(stderr, "statusedge dev", err)
	}
	fmt.Fprintln(stdout, "statusedge dev is running (Ctrl-C stops it)")
	for _, r := range sys.Regions {
		// The loopback URL works in every HTTP client; *.localhost only in
		// browsers and curl, which resolve it themselves.
		named := strings.Replace(r.PageURL, "127.0.0.1", demo.Hostname, 1) + "/"
		redisNote := "no Redis (L1 and origin only)"
		if r.RedisURL != "" {
			redisNote = "Redis " + r.RedisURL
		}
		fmt.Fprintf(stdout, "  region %-3s page %s   (also %s)   API %s   %s\n", r.Name, r.PageURL+"/", named, r.APIURL, redisNote)
	}
	fmt.Fprintf(stdout, "  admin token  %s\n", sys.OperatorToken)
	fmt.Fprintf(stdout, "  try: STATUSEDGE_ORIGIN=%s STATUSEDGE_TOKEN=%s statusedge ctl incident list --site acme\n",
		sys.Regions[0].APIURL, sys.OperatorToken)
	return sys, 0
}

// waitDev runs until ctx ends, then stops the system.
func waitDev(ctx context.Context, sys *dev.System, stdout, stderr io.Writer) int {
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping…")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sys.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "statusedge dev: shutdown: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "stopped")
	return 0
}
