package content

import (
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// idAlphabet is the alphabet of Statuspage-style ids ("kctbh9vrtdwd").
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// NewID returns a random 12-character lowercase base-36 id.
func NewID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("content: crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

// HashPassword hashes a page or audience password for Access.PasswordHash.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("content: hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether pw matches hash (in constant time).
func CheckPassword(hash, pw string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
