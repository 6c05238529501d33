package access

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/big"
	"regexp"
	"strings"
)

// Token format
//
// A token is TokenPrefix, then 43 base62 characters encoding 256 random
// bits, then 6 base62 characters encoding the CRC-32 (IEEE) of those 43
// characters. It matches TokenPattern:
//
//	trove_[0-9A-Za-z]{49}
//
// The fixed prefix lets secret scanners (GitHub's partner program, gitleaks,
// Trove's own upload scanner) find leaked tokens, and the checksum lets
// them, and Trove, reject a random match without a database lookup.
const (
	TokenPrefix = "trove_"
	secretLen   = 43
	checkLen    = 6
)

// TokenPattern matches a Trove token anywhere in a text.
var TokenPattern = regexp.MustCompile(`\btrove_[0-9A-Za-z]{49}\b`)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// encode62 writes n in base62, left-padded with '0' to width characters.
func encode62(n *big.Int, width int) string {
	b := make([]byte, width)
	x := new(big.Int).Set(n)
	mod := new(big.Int)
	base := big.NewInt(62)
	for i := width - 1; i >= 0; i-- {
		x.DivMod(x, base, mod)
		b[i] = base62[mod.Int64()]
	}
	return string(b)
}

// NewToken returns a fresh random token.
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret := encode62(new(big.Int).SetBytes(b[:]), secretLen)
	return TokenPrefix + secret + checksum(secret)
}

func checksum(secret string) string {
	return encode62(big.NewInt(int64(crc32.ChecksumIEEE([]byte(secret)))), checkLen)
}

// CheckToken reports whether s has the form of a token and a valid
// checksum. It does not say whether the token exists.
func CheckToken(s string) error {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok {
		return fmt.Errorf("token does not start with %q", TokenPrefix)
	}
	if len(rest) != secretLen+checkLen {
		return fmt.Errorf("token has %d characters after the prefix, want %d", len(rest), secretLen+checkLen)
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return fmt.Errorf("token has a character outside [0-9A-Za-z]")
		}
	}
	if checksum(rest[:secretLen]) != rest[secretLen:] {
		return fmt.Errorf("token checksum does not match: it was mistyped or truncated")
	}
	return nil
}

// Redact replaces anything shaped like a token in s (a URL path: npm
// logout puts the token in one) by the prefix and REDACTED, for messages
// and logs.
func Redact(s string) string {
	if !strings.Contains(s, TokenPrefix) {
		return s
	}
	return TokenPattern.ReplaceAllString(s, TokenPrefix+"REDACTED")
}

// HashToken returns the hex SHA-256 of a token: the only form stored. A
// token has 256 bits of entropy, so a fast unsalted hash is enough.
func HashToken(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// newPublicID returns a random, non-secret handle for a token.
func newPublicID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}
