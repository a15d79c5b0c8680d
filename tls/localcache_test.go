package tls

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// The local copy is sealed: nothing in clear on disk, and a value opens
// only under its own key with the secret it was sealed with.
func TestLocalCacheSealed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const secret = "0123456789abcdef-cert-secret"
	lc, err := newSealedFiles(dir, secret)
	if err != nil {
		t.Fatal(err)
	}
	key := "certificates/ca/status.example.com/status.example.com.key"
	other := "certificates/ca/other.example.com/other.example.com.key"
	value := []byte("-----BEGIN EC PRIVATE KEY-----\nsecret\n-----END EC PRIVATE KEY-----\n")
	if err := lc.Store(ctx, key, value); err != nil {
		t.Fatal(err)
	}
	if got, err := lc.Load(ctx, key); err != nil || !bytes.Equal(got, value) {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(onDisk, []byte("PRIVATE KEY")) || bytes.Contains(onDisk, []byte("secret")) {
		t.Fatal("the value is on disk in clear")
	}
	if fi, _ := os.Stat(filepath.Join(dir, filepath.FromSlash(key))); fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("file mode %v: readable by others", fi.Mode().Perm())
	}

	wrongSecret, _ := newSealedFiles(dir, "another-secret-0123456789")
	tests := []struct {
		name  string
		setup func()
		lc    *sealedFiles
		key   string
	}{
		{"another secret's cache", func() {}, wrongSecret, key},
		{"a value moved to another key", func() {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, filepath.FromSlash(other))), 0o700)
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(other)), onDisk, 0o600)
		}, lc, other},
		{"a truncated value", func() {
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(other)), onDisk[:5], 0o600)
		}, lc, other},
		{"a flipped bit", func() {
			b := bytes.Clone(onDisk)
			b[len(b)-1] ^= 1
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(other)), b, 0o600)
		}, lc, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			if got, err := tt.lc.Load(ctx, tt.key); err == nil {
				t.Fatalf("opened: %q", got)
			}
		})
	}

	if err := lc.forget(ctx, "ca", "status.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Load(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after forget: %v, want not found", err)
	}
}
