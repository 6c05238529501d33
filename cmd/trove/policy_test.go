package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/trove"
)

// totpCode returns the current code of a base32 TOTP secret.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tokenLevelOf returns the level the data directory's database recorded
// for a token secret.
func tokenLevelOf(t *testing.T, data, secret string) trove.AuthLevel {
	t.Helper()
	c := config.Default()
	c.DataDir = data
	c.Finish()
	db, err := openDB(context.Background(), &c)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tok, err := db.TokenByHash(context.Background(), access.HashToken(strings.TrimSpace(secret)))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AuthLevel
}

// TestTokenCreateOTP: trove token create mints at level password, or at
// level mfa with --otp and a fresh code of the user's authenticator; a
// wrong or replayed code creates nothing.
func TestTokenCreateOTP(t *testing.T) {
	data := t.TempDir()
	base := []string{"--data", data}
	if _, stderr, err := runTroveStdin(t, "", "correct horse battery staple\n",
		append([]string{"admin", "user", "add", "alice", "--email", "alice@example.test", "--password-stdin"}, base...)...); err != nil {
		t.Fatalf("user add: %v\n%s", err, stderr)
	}
	create := func(extra ...string) (string, string, error) {
		return runTrove(t, "", append(append([]string{"token", "create", "--user", "alice", "--scope", "*"}, extra...), base...)...)
	}
	_, stderr, err := create("--otp", "123456")
	if err == nil || !strings.Contains(err.Error(), "no TOTP authenticator") {
		t.Errorf("--otp without an authenticator: %v (%s), want a refusal", err, stderr)
	}
	out, stderr, err := create()
	if err != nil || !strings.Contains(stderr, "level password") || tokenLevelOf(t, data, out) != trove.AuthPassword {
		t.Fatalf("token create without --otp: %v, %s; want level password", err, stderr)
	}
	out, _, err = runTrove(t, "", append([]string{"account", "totp", "enroll", "--user", "alice"}, base...)...)
	if err != nil {
		t.Fatal(err)
	}
	secret := regexp.MustCompile(`(?m)^secret: ([A-Z2-7]+)$`).FindStringSubmatch(out)
	if secret == nil {
		t.Fatalf("no secret in %q", out)
	}
	code := totpCode(t, secret[1], time.Now().Add(30*time.Second)) // enrolment used up the current step
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, stderr, err := create("--otp", wrong); err == nil || !strings.Contains(err.Error(), "no token was created") {
		t.Errorf("--otp with a wrong code: %v (%s), want a refusal", err, stderr)
	}
	out, stderr, err = create("--otp", code)
	if err != nil || !strings.Contains(stderr, "level mfa") || tokenLevelOf(t, data, out) != trove.AuthMFA {
		t.Fatalf("token create --otp: %v, %s; want level mfa", err, stderr)
	}
	if _, _, err := create("--otp", code); err == nil || !strings.Contains(err.Error(), "no token was created") {
		t.Errorf("--otp with a replayed code: %v, want a refusal", err)
	}
}
