package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane).
// They are stored in every hash, so raising them later keeps old hashes valid.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	saltLen        = 16
)

// Password policy (packman PKM-01): at least MinStrongPasswordLen
// characters, or at least MinPasswordLen characters drawn from three of the
// four classes lowercase, uppercase, digits and symbols; at most
// MaxPasswordLen bytes, to bound hashing work.
const (
	MinPasswordLen       = 11
	MinStrongPasswordLen = 16
	MaxPasswordLen       = 1024
)

// CheckPasswordPolicy returns an error that says what a password lacks.
func CheckPasswordPolicy(pw string) error {
	n := len([]rune(pw))
	if len(pw) > MaxPasswordLen {
		return fmt.Errorf("password is longer than %d bytes", MaxPasswordLen)
	}
	if n >= MinStrongPasswordLen {
		return nil
	}
	var lower, upper, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	if n >= MinPasswordLen && classes >= 3 {
		return nil
	}
	return fmt.Errorf("password too weak: use at least %d characters, or at least %d with three of lowercase, uppercase, digits and symbols",
		MinStrongPasswordLen, MinPasswordLen)
}

// HashPassword returns the argon2id hash of pw in PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, base64 without padding.
func HashPassword(pw string) string {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64(salt), b64(key))
}

var errBadHash = errors.New("malformed password hash")

// VerifyPassword reports whether pw matches the PHC-encoded argon2id hash,
// comparing in constant time.
func VerifyPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 {
		return false, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	if len(pw) > MaxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
