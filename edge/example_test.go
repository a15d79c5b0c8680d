package edge_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/statusedge/statusedge/demo"
	"github.com/statusedge/statusedge/edge"
	"github.com/statusedge/statusedge/origin"
	"github.com/statusedge/statusedge/origin/render"
)

// An edge in front of a one-replica origin: it routes by Host, renders
// through the origin's internal API (with the read-only edge secret) and
// answers from its cache.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "edge-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The origin, as in origin's example, with a renderer and an edge secret.
	r, err := render.New()
	if err != nil {
		log.Fatal(err)
	}
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	oc := origin.DefaultConfig()
	oc.ID, oc.DataDir, oc.RaftAddr = "o1", dir, "127.0.0.1:0"
	oc.APIAddr, oc.Bootstrap = "http://"+api.Addr().String(), true
	oc.OperatorToken, oc.ClusterSecret = "operator-token-0123456789", "cluster-secret-0123456789"
	oc.EdgeSecret, oc.Renderer = "edge-secret-0123456789", r
	oc.Logger = hclog.NewNullLogger()
	n, err := origin.Open(oc)
	if err != nil {
		log.Fatal(err)
	}
	apiSrv := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = apiSrv.Serve(api) }()
	if _, err := n.ImportSite(ctx, demo.Site(time.Now())); err != nil {
		log.Fatal(err)
	}

	// The edge.
	cfg := edge.DefaultConfig()
	cfg.Origin = edge.NewHTTPOrigin(oc.APIAddr, oc.EdgeSecret, nil)
	cfg.RedisAddr = "" // none: L1 and the origin only
	cfg.SessionKey = make([]byte, 32)
	if _, err := rand.Read(cfg.SessionKey); err != nil { // signs password sessions
		log.Fatal(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := edge.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := srv.WaitReady(wctx); err != nil { // the registry is loaded
		log.Fatal(err)
	}

	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/api/v2/status.json", nil)
	req.Host = demo.Hostname
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(body), `"indicator"`))

	_ = srv.Shutdown(ctx)
	_ = apiSrv.Shutdown(ctx)
	_ = n.Shutdown(ctx)
	// Output: 200 true
}
