package origin_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/origin"
)

// A single-voter origin on disk: open it, serve its API, import a site,
// shut it down.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "origin-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	cfg := origin.DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.RaftAddr = "o1", dir, "127.0.0.1:0"
	cfg.APIAddr, cfg.Bootstrap = "http://"+ln.Addr().String(), true
	cfg.OperatorToken, cfg.ClusterSecret = "operator-token-0123456789", "cluster-secret-0123456789"
	cfg.Logger = hclog.NewNullLogger()
	n, err := origin.Open(cfg)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()

	site, err := n.ImportSite(ctx, demo.Site(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(site.Name, site.Version > 0)

	_ = srv.Shutdown(ctx)
	if err := n.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: Acme Cloud true
}
