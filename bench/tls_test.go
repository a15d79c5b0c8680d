package bench

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A short run of the tls scenario with the real parts (statusedge dev
// --https built from this repo, Pebble, nginx, wrk) yields a well-formed
// report, and the edge's /metrics counted what wrk did on each of its
// loads: a page answer per request, a handshake per connection with keep-alive
// and per request without.
func TestTLSScenario(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "statusedge")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/statusedge").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := RunTLS(ctx, TLSConfig{Bin: bin, Dir: filepath.Join(dir, "run"), Duration: time.Second, Rounds: 1,
		Connections: 8, HandshakeConnections: 4, ServerCPU: -1, LoadCPU: -1})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{tlsEdgeKA, tlsNginxKA, tlsEdgeNew, tlsNginxNew}
	if len(run.Report.Loads) != len(want) {
		t.Fatalf("%d loads, want %d", len(run.Report.Loads), len(want))
	}
	for i, l := range run.Report.Loads {
		if l.Name != want[i] || l.Requests <= 0 || l.Errors != 0 || l.P99 <= 0 || l.ServerCPU <= 0 {
			t.Errorf("load %d: %+v", i, l)
		}
	}
	if len(run.Counts) != 2 {
		t.Fatalf("edge counts %+v, want one per edge load", run.Counts)
	}
	for _, c := range run.Counts {
		if c.Requests <= 0 || !c.Agrees(c.Load == tlsEdgeKA) {
			t.Errorf("the edge's /metrics disagree with wrk: %+v", c)
		}
	}
	if run.FirstByte <= 0 {
		t.Error("no first-byte time")
	}
	out := filepath.Join(dir, "out")
	files, err := run.Report.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("wrote %v", files)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Loads) != 4 || len(back.Checks) != 3 {
		t.Fatalf("report.json: %v, %d loads, %d checks", err, len(back.Loads), len(back.Checks))
	}
	if !back.Checks[2].Met {
		t.Errorf("counts check not met: %+v", back.Checks[2])
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, s := range []string{"| edge keep-alive |", "| nginx new connection per request |", "load average", "first byte"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
}

func TestTLSEdgeCountAgrees(t *testing.T) {
	tests := []struct {
		name      string
		c         TLSEdgeCount
		keepAlive bool
		want      bool
	}{
		{"keep-alive, exact", TLSEdgeCount{Connections: 8, Requests: 100, Answers: 100, Handshakes: 8}, true, true},
		{"keep-alive, requests in flight at the end", TLSEdgeCount{Connections: 8, Requests: 100, Answers: 108, Handshakes: 8}, true, true},
		{"answers missing", TLSEdgeCount{Connections: 8, Requests: 100, Answers: 99, Handshakes: 8}, true, false},
		{"more answers than wrk could have caused", TLSEdgeCount{Connections: 8, Requests: 100, Answers: 109, Handshakes: 8}, true, false},
		{"keep-alive with a handshake per request", TLSEdgeCount{Connections: 8, Requests: 100, Answers: 100, Handshakes: 100}, true, false},
		{"new connections, a handshake each", TLSEdgeCount{Connections: 4, Requests: 50, Answers: 52, Handshakes: 52}, false, true},
		{"new connections, handshakes missing", TLSEdgeCount{Connections: 4, Requests: 50, Answers: 50, Handshakes: 10}, false, false},
	}
	for _, tt := range tests {
		if got := tt.c.Agrees(tt.keepAlive); got != tt.want {
			t.Errorf("%s: Agrees = %v, want %v", tt.name, got, tt.want)
		}
	}
}
