package origin

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// netLab is a small real network: one network namespace per node, each
// with a veth into a bridge that lives in a namespace of its own, and one
// veth of the host's on the bridge so that the test reaches every node.
// Cutting a node's bridge port partitions its namespace (every process in
// it) from everyone else, the test included; healing puts it back. Nothing
// in the host's namespace changes but that one veth and its route. It
// needs root (ip netns), as on this machine and in CI.
type netLab struct {
	t      testing.TB
	tag    string // prefix of every name (interface names have 15 bytes)
	subnet string // "10.213.N": node i is .i+1, the host .254
	nodes  int
}

func newNetLab(t testing.TB, nodes int) *netLab {
	t.Helper()
	n := rand.IntN(250) + 1
	l := &netLab{t: t, tag: fmt.Sprintf("sl%03d", n), subnet: fmt.Sprintf("10.213.%d", n), nodes: nodes}
	t.Cleanup(l.remove)
	l.ip("netns", "add", l.sw())
	l.ip("netns", "exec", l.sw(), "ip", "link", "add", "sw0", "type", "bridge")
	l.ip("netns", "exec", l.sw(), "ip", "link", "set", "sw0", "up")
	for i := range nodes + 1 {
		host := i == nodes
		a, b := fmt.Sprintf("%sa%d", l.tag, i), l.port(i)
		l.ip("link", "add", a, "type", "veth", "peer", "name", b)
		l.ip("link", "set", b, "netns", l.sw())
		if host {
			l.ip("addr", "add", l.subnet+".254/24", "dev", a)
			l.ip("link", "set", a, "up")
		} else {
			l.ip("netns", "add", l.NS(i))
			l.ip("link", "set", a, "netns", l.NS(i))
			l.ip("netns", "exec", l.NS(i), "ip", "addr", "add", l.Addr(i)+"/24", "dev", a)
			l.ip("netns", "exec", l.NS(i), "ip", "link", "set", a, "up")
			l.ip("netns", "exec", l.NS(i), "ip", "link", "set", "lo", "up")
		}
		l.ip("netns", "exec", l.sw(), "ip", "link", "set", b, "master", "sw0")
		l.ip("netns", "exec", l.sw(), "ip", "link", "set", b, "up")
	}
	return l
}

func (l *netLab) sw() string        { return l.tag + "sw" }
func (l *netLab) port(i int) string { return fmt.Sprintf("%sb%d", l.tag, i) }

// NS is node i's namespace; Addr its address.
func (l *netLab) NS(i int) string   { return fmt.Sprintf("%sn%d", l.tag, i) }
func (l *netLab) Addr(i int) string { return fmt.Sprintf("%s.%d", l.subnet, i+1) }

// cut partitions node i's namespace from every other node and the host.
func (l *netLab) cut(i int) { l.ip("netns", "exec", l.sw(), "ip", "link", "set", l.port(i), "down") }

// heal undoes cut.
func (l *netLab) heal(i int) { l.ip("netns", "exec", l.sw(), "ip", "link", "set", l.port(i), "up") }

// curl runs curl in node i's namespace (to reach a node the host is cut
// off from) and returns its output.
func (l *netLab) curl(i int, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", l.NS(i), "curl", "-sS", "-m", "3"}, args...)...).CombinedOutput()
	return string(out), err
}

func (l *netLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s (needs root, as in CI): %v: %s", strings.Join(args, " "), err, out)
	}
}

// remove deletes the host's veth (and with it its peer) and every
// namespace (and with them their veths and the bridge).
func (l *netLab) remove() {
	exec.Command("ip", "link", "del", fmt.Sprintf("%sa%d", l.tag, l.nodes)).Run()
	for i := range l.nodes {
		exec.Command("ip", "netns", "del", l.NS(i)).Run()
	}
	exec.Command("ip", "netns", "del", l.sw()).Run()
}

// inNetLab puts replica ni in namespace i of lab, on fixed ports of its
// own address there.
func inNetLab(lab *netLab) func(*procNode) {
	return func(p *procNode) {
		var i int
		fmt.Sscanf(p.id, "n%d", &i)
		p.netns, p.raftAddr, p.apiAddr = lab.NS(i), lab.Addr(i)+":7000", lab.Addr(i)+":7080"
	}
}

// blockPort drops, inside node i's namespace only (nftables), every TCP
// packet to its port: one of its listeners is cut off while the others
// still answer. unblock removes the rule.
func (l *netLab) blockPort(i, port int) {
	l.ip("netns", "exec", l.NS(i), "nft", "add", "table", "inet", "statusedge_lab")
	l.ip("netns", "exec", l.NS(i), "nft", "add chain inet statusedge_lab in { type filter hook input priority 0; policy accept; }")
	l.ip("netns", "exec", l.NS(i), "nft", "add", "rule", "inet", "statusedge_lab", "in", "tcp", "dport", fmt.Sprint(port), "drop")
}

func (l *netLab) unblock(i int) {
	l.ip("netns", "exec", l.NS(i), "nft", "delete", "table", "inet", "statusedge_lab")
}
