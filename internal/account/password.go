package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/trustelem/zxcvbn"
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
// MaxPasswordLen bytes, to bound hashing work. And, because length is no
// strength ("passwordpassword", "1234567890123456"), the zxcvbn estimate
// of the guesses an attacker needs, with the user's name and email address
// as words it knows, must reach MinPasswordScore.
const (
	MinPasswordLen       = 11
	MinStrongPasswordLen = 16
	MaxPasswordLen       = 1024
	// MinPasswordScore is zxcvbn's score 3, "safely unguessable: moderate
	// protection from an offline slow-hash scenario" (about 10^8 to 10^10
	// guesses); scores 0 to 2 are too guessable, 4 is very unguessable.
	MinPasswordScore = 3
	// strengthPrefix bounds the runes the estimate looks at: its cost
	// grows steeply with length (seconds at 256 characters), and a
	// password whose first 64 characters are guessable is weak anyway.
	strengthPrefix = 64
)

// CheckPasswordPolicy returns an error that says what a password lacks.
// userInputs are words an attacker would try first: the user's name and
// email address.
func CheckPasswordPolicy(pw string, userInputs ...string) error {
	n := len([]rune(pw))
	if len(pw) > MaxPasswordLen {
		return fmt.Errorf("password is longer than %d bytes", MaxPasswordLen)
	}
	if n < MinStrongPasswordLen && !(n >= MinPasswordLen && classes(pw) >= 3) {
		return fmt.Errorf("password too weak: use at least %d characters, or at least %d with three of lowercase, uppercase, digits and symbols",
			MinStrongPasswordLen, MinPasswordLen)
	}
	if r := estimate(pw, userInputs); r.Score < MinPasswordScore {
		return fmt.Errorf("password too weak: it would be guessed in about %.0e tries (it is made of %s); use a passphrase of several unrelated words",
			r.Guesses, weakness(r))
	}
	return nil
}

// classes counts the character classes of pw among lowercase, uppercase,
// digits and others.
func classes(pw string) int {
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
	n := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			n++
		}
	}
	return n
}

// estimate runs zxcvbn on the first strengthPrefix runes of pw, with the
// user's words and their parts (an email address's local part and domain
// labels) as its user dictionary.
func estimate(pw string, userInputs []string) zxcvbn.Result {
	if r := []rune(pw); len(r) > strengthPrefix {
		pw = string(r[:strengthPrefix])
	}
	words := []string{"trove"}
	for _, in := range userInputs {
		in = strings.ToLower(strings.TrimSpace(in))
		if in == "" {
			continue
		}
		words = append(words, in)
		words = append(words, strings.FieldsFunc(in, func(r rune) bool { return r == '@' || r == '.' || r == '-' || r == '_' || r == '+' })...)
	}
	return zxcvbn.PasswordStrength(pw, words)
}

// weakness names what made a password guessable, from the patterns
// zxcvbn matched.
func weakness(r zxcvbn.Result) string {
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, m := range r.Sequence {
		switch {
		case m.Pattern == "dictionary" && m.DictionaryName == "user_inputs":
			add("your user name or email address")
		case m.Pattern == "dictionary":
			add("common passwords, names or words")
		case m.Pattern == "repeat":
			add("repeated characters or words")
		case m.Pattern == "sequence":
			add("a sequence such as abc or 1234")
		case m.Pattern == "spatial":
			add("a keyboard pattern such as qwerty")
		case m.Pattern == "date" || m.Pattern == "regex":
			add("dates or years")
		}
	}
	if len(out) == 0 {
		return "too few unpredictable characters"
	}
	return strings.Join(out, ", ")
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
