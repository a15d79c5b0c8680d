package gossip

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	signKey := DeriveSignKey([]byte("cluster secret"))
	otherKey := DeriveSignKey([]byte("another cluster"))
	valid := func() Config {
		c := DefaultConfig()
		c.Name, c.Role, c.Region = "edge-eu-1", RoleEdge, "eu"
		c.SecretKey, c.VerifyKey = make([]byte, 32), signKey.Public().(ed25519.PublicKey)
		return c
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"default with identity", func(*Config) {}, true},
		{"origin local", func(c *Config) { c.Role, c.Profile = RoleOrigin, ProfileLocal }, true},
		{"zero profile means WAN", func(c *Config) { c.Profile = "" }, true},
		{"key 16", func(c *Config) { c.SecretKey = make([]byte, 16) }, true},
		{"key 32", func(c *Config) { c.SecretKey = make([]byte, 32) }, true},
		{"longest region", func(c *Config) { c.Region = strings.Repeat("r", maxRegionLen) }, true},
		{"origin signs", func(c *Config) { c.Role, c.SignKey, c.VerifyKey = RoleOrigin, signKey, nil }, true},
		{"origin signs and verifies", func(c *Config) { c.Role, c.SignKey = RoleOrigin, signKey }, true},
		{"loopback without keys", func(c *Config) { c.BindAddr, c.SecretKey, c.VerifyKey = "127.0.0.1", nil, nil }, true},
		{"localhost without keys", func(c *Config) { c.BindAddr, c.SecretKey, c.VerifyKey = "localhost", nil, nil }, true},
		{"ipv6 loopback without keys", func(c *Config) { c.BindAddr, c.SecretKey, c.VerifyKey = "::1", nil, nil }, true},

		{"no name", func(c *Config) { c.Name = "" }, false},
		{"huge name", func(c *Config) { c.Name = strings.Repeat("n", 1000) }, false},
		{"no role", func(c *Config) { c.Role = "" }, false},
		{"unknown role", func(c *Config) { c.Role = "admin" }, false},
		{"no region", func(c *Config) { c.Region = "" }, false},
		{"region too long for meta", func(c *Config) { c.Region = strings.Repeat("r", 600) }, false},
		{"unknown profile", func(c *Config) { c.Profile = "moon" }, false},
		{"key 15", func(c *Config) { c.SecretKey = make([]byte, 15) }, false},
		{"negative port", func(c *Config) { c.BindPort = -1 }, false},
		{"port too big", func(c *Config) { c.AdvertisePort = 70000 }, false},
		{"negative interval", func(c *Config) { c.PushPullInterval = -time.Second }, false},
		{"negative max names", func(c *Config) { c.MaxNames = -1 }, false},
		{"empty seed", func(c *Config) { c.Seeds = []string{""} }, false},

		// Trust: off loopback, gossip must be encrypted and versions signed.
		{"all interfaces without secret key", func(c *Config) { c.SecretKey = nil }, false},
		{"empty bind address without secret key", func(c *Config) { c.BindAddr, c.SecretKey = "", nil }, false},
		{"public address without verify key", func(c *Config) { c.BindAddr, c.VerifyKey = "192.0.2.1", nil }, false},
		{"hostname is not loopback", func(c *Config) { c.BindAddr, c.SecretKey = "gossip.internal", nil }, false},
		{"edge holding the sign key", func(c *Config) { c.SignKey = signKey }, false},
		{"verify key of another cluster", func(c *Config) {
			c.Role, c.SignKey, c.VerifyKey = RoleOrigin, signKey, otherKey.Public().(ed25519.PublicKey)
		}, false},
		{"short verify key", func(c *Config) { c.VerifyKey = make([]byte, 31) }, false},
		{"short sign key", func(c *Config) { c.Role, c.SignKey = RoleOrigin, make([]byte, 32) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			err := c.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("New(zero Config) = %v, want ErrConfig", err)
	}
}

func TestProfiles(t *testing.T) {
	c := DefaultConfig()
	c.Name, c.Role, c.Region = "n", RoleEdge, "eu"
	wan := c.memberlistConfig()
	c.Profile = ProfileLocal
	local := c.memberlistConfig()
	if wan.ProbeTimeout <= local.ProbeTimeout || wan.SuspicionMult <= local.SuspicionMult {
		t.Errorf("WAN failure detection (probe timeout %v, suspicion ×%d) not slower than Local (%v, ×%d)",
			wan.ProbeTimeout, wan.SuspicionMult, local.ProbeTimeout, local.SuspicionMult)
	}
	if wan.PushPullInterval != DefaultPushPullInterval {
		t.Errorf("push/pull interval %v, want %v", wan.PushPullInterval, DefaultPushPullInterval)
	}
	if wan.GossipInterval != DefaultGossipInterval {
		t.Errorf("gossip interval %v, want %v", wan.GossipInterval, DefaultGossipInterval)
	}
	c.PushPullInterval = 123 * time.Millisecond
	if got := c.memberlistConfig().PushPullInterval; got != c.PushPullInterval {
		t.Errorf("override ignored: %v", got)
	}
}

func TestMeta(t *testing.T) {
	for _, role := range []Role{RoleOrigin, RoleEdge} {
		for _, region := range []string{"eu", "ap-southeast-1", strings.Repeat("x", maxRegionLen)} {
			b := encodeMeta(role, region)
			if len(b) > maxMetaLen {
				t.Fatalf("meta %d bytes", len(b))
			}
			r, g, err := decodeMeta(b)
			if err != nil || r != role || g != region {
				t.Errorf("meta round trip %s/%s = %s/%s, %v", role, region, r, g, err)
			}
		}
	}
	for _, bad := range [][]byte{nil, {metaVersion}, {9, 1, 1, 'a'}, {metaVersion, 7, 1, 'a'}, {metaVersion, 1, 0}, {metaVersion, 1, 3, 'a'}, {metaVersion, 1, 1, 'a', 'b'}} {
		if _, _, err := decodeMeta(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("decodeMeta(%x) = %v, want ErrMalformed", bad, err)
		}
	}
}
