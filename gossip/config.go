package gossip

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/hashicorp/memberlist"
)

// Role says what a node is in the cluster.
type Role string

// Roles.
const (
	RoleOrigin Role = "origin" // an origin replica: publishes, may listen
	RoleEdge   Role = "edge"   // an edge: listens, never publishes
)

// Profile picks memberlist's failure-detection timings.
type Profile string

// Profiles. WAN suits real deployments across regions; Local suits tests and
// `statusedge dev` on one machine.
const (
	ProfileLAN   Profile = "lan"
	ProfileWAN   Profile = "wan"
	ProfileLocal Profile = "local"
)

// Defaults.
const (
	DefaultPort             = 7946
	DefaultMaxNames         = 1 << 20
	DefaultRejoinInterval   = 10 * time.Second
	DefaultGossipInterval   = 100 * time.Millisecond
	DefaultPushPullInterval = 15 * time.Second
	DefaultFanout           = 64
	DefaultPublishInterval  = 200 * time.Millisecond
	maxRegionLen            = 64
	maxNodeNameLen          = 128
	maxMetaLen              = 512 // memberlist.MetaMaxSize
)

// ErrConfig wraps every configuration error returned by Validate.
var ErrConfig = errors.New("gossip: invalid config")

// Invalidator receives each site's newer versions, in order per site, never
// an older one than it has already received. Calls come from one goroutine;
// a slow Invalidator delays (and coalesces) later versions, it never loses
// the newest. The edge implements it; an origin replica may too.
type Invalidator interface {
	Invalidate(site string, version uint64)
}

// CertListener receives certificate events with the same guarantees as
// Invalidator. The TLS layer implements it to reload a certificate.
type CertListener interface {
	CertChanged(name string, version uint64)
}

// Config configures a Node. Start from DefaultConfig; zero durations mean the
// profile's value.
type Config struct {
	Name   string // unique node name in the cluster (required)
	Role   Role   // RoleOrigin or RoleEdge (required)
	Region string // region label, 1-64 bytes (required)

	// BindAddr and BindPort are where memberlist listens (UDP and TCP).
	// Port 0 picks a free port. Ignored when Transport is set.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are what peers dial; empty means the
	// bound address.
	AdvertiseAddr string
	AdvertisePort int

	// Seeds are "host:port" addresses of nodes to join. With none, the node
	// starts a cluster and counts as synced at once.
	Seeds []string

	Profile Profile // timings; default ProfileWAN

	// Overrides of the profile (zero: the profile's value, except
	// GossipInterval whose zero is DefaultGossipInterval, since gossip only
	// sends when something is queued, so a short interval costs nothing at
	// rest; and PushPullInterval whose zero is DefaultPushPullInterval, the
	// bound on repair after lost news).
	GossipInterval   time.Duration
	PushPullInterval time.Duration
	ProbeInterval    time.Duration
	ProbeTimeout     time.Duration
	// PublishInterval is the least time between two versions of one site
	// (or certificate) leaving a publisher; versions published meanwhile
	// are coalesced into the newest (zero: DefaultPublishInterval). It
	// bounds messages and edge renders per site whatever the write rate, at
	// the cost of delaying a second change within the interval.
	PublishInterval time.Duration
	// Fanout is how many random peers a published version is also sent to
	// directly (zero: DefaultFanout; negative: none, gossip only). Up to
	// that cluster size every node hears it after one one-way delay;
	// gossip and anti-entropy remain the backup.
	Fanout int
	// DeadNodeReclaimTime lets a restarted node reuse its name from a new
	// address after it has been dead this long (zero: 30 s; negative: never).
	DeadNodeReclaimTime time.Duration
	// RejoinInterval is how often a node without peers retries its seeds.
	RejoinInterval time.Duration

	// Transport replaces memberlist's UDP/TCP transport (fault injection,
	// see gossiptest). The Node owns it: memberlist shuts it down.
	Transport memberlist.Transport
	// SecretKey, if set (16, 24 or 32 bytes), encrypts and authenticates
	// all gossip with AES-GCM. Every node must share it, edges included,
	// so it keeps strangers out but does not tell an origin from an edge.
	// Required unless BindAddr is a loopback address (or Transport is set).
	SecretKey []byte

	// SignKey (origins only) signs every version the node announces:
	// publishes, and its origin store's versions at anti-entropy.
	// VerifyKey is its public half, which every node holds: a node with a
	// VerifyKey accepts only versions signed by SignKey, so a member that
	// holds the gossip SecretKey but not SignKey (an edge, or whoever stole
	// an edge's key) cannot raise a version anywhere. VerifyKey defaults to
	// SignKey's public key; without either (loopback tests only), versions
	// travel unsigned and are believed. Required unless BindAddr is a
	// loopback address (or Transport is set). DeriveSignKey derives the
	// pair from the origins' cluster secret.
	SignKey   ed25519.PrivateKey
	VerifyKey ed25519.PublicKey

	// Invalidator and CertListener receive newer versions learned from
	// peers (nil: none). Versions, if set, is an origin's store: its map is
	// merged into the state sent at each push/pull. It must be fast and
	// must not block; the caller must not modify the map afterwards.
	Invalidator  Invalidator
	CertListener CertListener
	Versions     func() map[string]uint64

	// MaxNames bounds the sites plus certificates a node tracks; names
	// beyond it are dropped (and counted). Zero: DefaultMaxNames.
	MaxNames int

	Logger *slog.Logger // nil: discard
}

// DefaultConfig returns a Config for a real deployment: WAN profile, port
// 7946 on all interfaces. Name, Role and Region must still be set.
func DefaultConfig() Config {
	return Config{
		BindAddr:       "0.0.0.0",
		BindPort:       DefaultPort,
		Profile:        ProfileWAN,
		RejoinInterval: DefaultRejoinInterval,
		MaxNames:       DefaultMaxNames,
	}
}

// Validate reports the first problem with c, wrapped in ErrConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.Name == "" || len(c.Name) > maxNodeNameLen:
		return bad("name must be 1-%d bytes, got %d", maxNodeNameLen, len(c.Name))
	case c.Role != RoleOrigin && c.Role != RoleEdge:
		return bad("role %q is not %q or %q", c.Role, RoleOrigin, RoleEdge)
	case c.Region == "" || len(c.Region) > maxRegionLen:
		return bad("region must be 1-%d bytes, got %d", maxRegionLen, len(c.Region))
	case c.Profile != "" && c.Profile != ProfileLAN && c.Profile != ProfileWAN && c.Profile != ProfileLocal:
		return bad("unknown profile %q", c.Profile)
	case c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		return bad("port out of range")
	case c.GossipInterval < 0 || c.PushPullInterval < 0 || c.ProbeInterval < 0 || c.ProbeTimeout < 0 || c.RejoinInterval < 0 || c.PublishInterval < 0:
		return bad("negative interval")
	case c.MaxNames < 0:
		return bad("negative MaxNames")
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		return bad("secret key must be 16, 24 or 32 bytes, got %d", len(c.SecretKey))
	}
	for _, s := range c.Seeds {
		if s == "" {
			return bad("empty seed address")
		}
	}
	switch {
	case c.SignKey != nil && len(c.SignKey) != ed25519.PrivateKeySize:
		return bad("sign key must be %d bytes, got %d", ed25519.PrivateKeySize, len(c.SignKey))
	case c.VerifyKey != nil && len(c.VerifyKey) != ed25519.PublicKeySize:
		return bad("verify key must be %d bytes, got %d", ed25519.PublicKeySize, len(c.VerifyKey))
	case c.SignKey != nil && c.Role != RoleOrigin:
		return bad("only an origin holds the sign key")
	case c.SignKey != nil && c.VerifyKey != nil && !bytes.Equal(c.SignKey.Public().(ed25519.PublicKey), c.VerifyKey):
		return bad("verify key is not the sign key's public key")
	}
	if c.Transport == nil && !loopback(c.BindAddr) {
		switch {
		case len(c.SecretKey) == 0:
			return bad("bind address %q is not loopback: a secret key is required (anyone who reaches the port could join)", c.BindAddr)
		case c.SignKey == nil && c.VerifyKey == nil:
			return bad("bind address %q is not loopback: a verify key is required (any member could announce versions)", c.BindAddr)
		}
	}
	if n := len(encodeMeta(c.Role, c.Region)); n > maxMetaLen {
		return bad("metadata is %d bytes, limit %d", n, maxMetaLen)
	}
	return nil
}

// loopback reports whether addr (an IP literal, or "localhost") only
// listens on the loopback interface. "" and "0.0.0.0" are every interface.
func loopback(addr string) bool {
	if addr == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(addr)
	return err == nil && a.IsLoopback()
}

// verifyKey is the key a node checks announcements with (nil: none).
func (c Config) verifyKey() ed25519.PublicKey {
	if c.VerifyKey != nil {
		return c.VerifyKey
	}
	if c.SignKey != nil {
		return c.SignKey.Public().(ed25519.PublicKey)
	}
	return nil
}

// DeriveSignKey derives the origins' announcement key pair from their
// shared cluster secret, so every replica signs with the same key and edges
// (which never hold the cluster secret) get only the public half.
func DeriveSignKey(clusterSecret []byte) ed25519.PrivateKey {
	m := hmac.New(sha256.New, clusterSecret)
	m.Write([]byte("statusedge gossip announcement key v1"))
	return ed25519.NewKeyFromSeed(m.Sum(nil))
}

// memberlistConfig translates c (already validated) into memberlist's.
func (c Config) memberlistConfig() *memberlist.Config {
	var mc *memberlist.Config
	switch c.Profile {
	case ProfileLAN:
		mc = memberlist.DefaultLANConfig()
	case ProfileLocal:
		mc = memberlist.DefaultLocalConfig()
	default:
		mc = memberlist.DefaultWANConfig()
	}
	mc.Name = c.Name
	mc.BindAddr = c.BindAddr
	if mc.BindAddr == "" {
		mc.BindAddr = "0.0.0.0"
	}
	mc.BindPort = c.BindPort
	mc.AdvertiseAddr = c.AdvertiseAddr
	mc.AdvertisePort = c.AdvertisePort
	if c.AdvertiseAddr == "" {
		mc.AdvertisePort = 0
	}
	mc.GossipInterval = DefaultGossipInterval
	if c.GossipInterval > 0 {
		mc.GossipInterval = c.GossipInterval
	}
	mc.PushPullInterval = DefaultPushPullInterval
	if c.PushPullInterval > 0 {
		mc.PushPullInterval = c.PushPullInterval
	}
	if c.ProbeInterval > 0 {
		mc.ProbeInterval = c.ProbeInterval
	}
	if c.ProbeTimeout > 0 {
		mc.ProbeTimeout = c.ProbeTimeout
	}
	switch {
	case c.DeadNodeReclaimTime > 0:
		mc.DeadNodeReclaimTime = c.DeadNodeReclaimTime
	case c.DeadNodeReclaimTime == 0:
		mc.DeadNodeReclaimTime = 30 * time.Second
	}
	mc.Transport = c.Transport
	if len(c.SecretKey) > 0 {
		mc.SecretKey = append([]byte(nil), c.SecretKey...)
	}
	return mc
}
