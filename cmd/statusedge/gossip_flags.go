package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/statusedge/statusedge/gossip"
)

// gossipFlags put an origin replica or an edge in the memberlist cluster
// that carries invalidations between regions.
type gossipFlags struct {
	addr, advertise, join, key, profile, verify string
}

func registerGossipFlags(fs *flag.FlagSet, edge bool) *gossipFlags {
	g := &gossipFlags{}
	fs.StringVar(&g.addr, "gossip-addr", "", "`host:port` to gossip on (UDP and TCP); empty: no gossip")
	fs.StringVar(&g.advertise, "gossip-advertise", "", "`host:port` peers reach this node's gossip at (default: --gossip-addr)")
	fs.StringVar(&g.join, "gossip-join", "", "comma-separated `host:port` list of gossip nodes to join (any region, any role)")
	fs.StringVar(&g.key, "gossip-key", os.Getenv("STATUSEDGE_GOSSIP_KEY"), "hex `key` of 16, 24 or 32 bytes that encrypts gossip; every node shares it (env STATUSEDGE_GOSSIP_KEY)")
	fs.StringVar(&g.profile, "gossip-profile", string(gossip.ProfileWAN), "gossip timings: wan, lan or local")
	if edge {
		fs.StringVar(&g.verify, "gossip-verify-key", "", "hex ed25519 public `key` origins sign announcements with (default: asked of --origin)")
	}
	return g
}

// verifyKey parses --gossip-verify-key (nil if unset).
func (g *gossipFlags) verifyKey() (ed25519.PublicKey, error) {
	if g.verify == "" {
		return nil, nil
	}
	k, err := hex.DecodeString(g.verify)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("--gossip-verify-key: want %d hex digits", 2*ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(k), nil
}

// enabled reports whether the process gossips.
func (g *gossipFlags) enabled() bool { return g.addr != "" }

// config builds the node's gossip configuration with the announcement keys
// (an origin's sign key, an edge's verify key). Its errors name the flag
// (a usage error: exit 2).
func (g *gossipFlags) config(role gossip.Role, region string, log *slog.Logger, sign ed25519.PrivateKey, verify ed25519.PublicKey) (gossip.Config, error) {
	c := gossip.DefaultConfig()
	c.SignKey, c.VerifyKey = sign, verify
	var err error
	if c.BindAddr, c.BindPort, err = splitHostPort(g.addr); err != nil {
		return c, fmt.Errorf("--gossip-addr: %w", err)
	}
	name := g.addr
	if g.advertise != "" {
		if c.AdvertiseAddr, c.AdvertisePort, err = splitHostPort(g.advertise); err != nil {
			return c, fmt.Errorf("--gossip-advertise: %w", err)
		}
		name = g.advertise
	}
	for _, s := range strings.Split(g.join, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, _, err := splitHostPort(s); err != nil {
			return c, fmt.Errorf("--gossip-join: %q: %w", s, err)
		}
		c.Seeds = append(c.Seeds, s)
	}
	if g.key != "" {
		if c.SecretKey, err = hex.DecodeString(g.key); err != nil || (len(c.SecretKey) != 16 && len(c.SecretKey) != 24 && len(c.SecretKey) != 32) {
			return c, fmt.Errorf("--gossip-key: want 32, 48 or 64 hex digits (16, 24 or 32 bytes)")
		}
	}
	switch p := gossip.Profile(g.profile); p {
	case gossip.ProfileWAN, gossip.ProfileLAN, gossip.ProfileLocal:
		c.Profile = p
	default:
		return c, fmt.Errorf("--gossip-profile: %q: want wan, lan or local", g.profile)
	}
	// One name per address: a node restarted on the same address takes its
	// old place in the cluster.
	c.Name, c.Role, c.Region, c.Logger = string(role)+"-"+region+"-"+name, role, region, log
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

func splitHostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: want host:port", s)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", s)
	}
	return host, p, nil
}
