package tls

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"

	"github.com/caddyserver/certmagic"

	"github.com/statusedge/statusedge/origin"
)

// sealedFiles is the edge's local copy of the certificates it serves
// (certmagic's LocalCache): certmagic.FileStorage under a directory, each
// value sealed as raft seals it (origin.SealCertValue, the storage key as
// additional data), with a key derived from the cert secret, which reads
// the same certificates from the origin anyway. certmagic keeps it up to
// date with every certificate, key and OCSP staple it loads or stores, and
// reads it first when it loads a certificate to serve it: a restarted edge
// serves the certificates it held while the origin is unreachable.
type sealedFiles struct {
	*certmagic.FileStorage
	aead cipher.AEAD
}

// localCacheInfo names the key derivation (HKDF-SHA256 of the cert secret).
const localCacheInfo = "statusedge tls local certificate cache v1"

func newSealedFiles(dir, certSecret string) (*sealedFiles, error) {
	key, err := hkdf.Key(sha256.New, []byte(certSecret), nil, localCacheInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("tls: local cache key: %w", err)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("tls: local cache key: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("tls: local cache key: %w", err)
	}
	return &sealedFiles{FileStorage: &certmagic.FileStorage{Path: dir}, aead: g}, nil
}

// Store implements certmagic.Storage (sealed).
func (s *sealedFiles) Store(ctx context.Context, key string, value []byte) error {
	return s.FileStorage.Store(ctx, key, origin.SealCertValue(s.aead, key, value))
}

// Load implements certmagic.Storage: a value that does not open (another
// secret's, or moved from another key) is an error, and certmagic reads
// the origin's copy instead.
func (s *sealedFiles) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.FileStorage.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	return origin.OpenCertValue(s.aead, key, b)
}

// forget removes the local copies of name's certificate, key and
// metadata (issued by issuerKey).
func (s *sealedFiles) forget(ctx context.Context, issuerKey, name string) error {
	return s.FileStorage.Delete(ctx, certmagic.StorageKeys.CertsSitePrefix(issuerKey, name))
}
