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
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
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

// TestPackageMFACommand: trove package mfa shows a package's policy and
// lets an owner raise it (with a token at that level), never below the
// registry's default.
func TestPackageMFACommand(t *testing.T) {
	e := servertest.New(t, servertest.Options{Rules: []registry.Rules{npm.Rules{}}})
	e.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/api", Ecosystem: "api", Adapter: api.New(api.Options{Registry: e.Registry, Tokens: e.Tokens})}}
	})
	alice := e.User(t, "alice", false)
	who := servertest.Principal(alice)
	st, err := e.Registry.Stage(strings.NewReader("bytes"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := e.Registry.Publish(context.Background(), who, &registry.Upload{Ecosystem: trove.NPM, Name: "demo", Version: "1.0.0",
		Metadata: []byte(`{}`), Files: []registry.UploadFile{{Filename: "demo-1.0.0.tgz", Kind: "tarball", Content: st}}}); err != nil {
		t.Fatal(err)
	}
	url := []string{"--url", e.URL}
	out, _, err := runTrove(t, "", append([]string{"package", "mfa", "npm", "demo"}, url...)...)
	if err != nil || !strings.Contains(out, "npm demo: changes need mfa (the registry's default)") {
		t.Errorf("package mfa (show) = %q, %v", out, err)
	}
	mfaTok := e.Token(t, alice, nil)
	if _, _, err := runTrove(t, mfaTok, append([]string{"package", "mfa", "npm", "demo", "password"}, url...)...); err == nil ||
		!strings.Contains(err.Error(), "only raise the registry's default") {
		t.Errorf("lowering below the default: %v, want a refusal", err)
	}
	if _, _, err := runTrove(t, mfaTok, append([]string{"package", "mfa", "npm", "demo", "phishing-resistant"}, url...)...); err == nil ||
		!strings.Contains(err.Error(), "security key") {
		t.Errorf("raising to phishing-resistant with an mfa token: %v, want a refusal naming security keys", err)
	}
	keyTok := e.TokenAt(t, trove.AuthPhishingResistant, alice, nil)
	out, _, err = runTrove(t, keyTok, append([]string{"package", "mfa", "npm", "demo", "phishing-resistant"}, url...)...)
	if err != nil || !strings.Contains(out, "changes need phishing-resistant (raised by its owners from the default mfa)") {
		t.Errorf("package mfa phishing-resistant = %q, %v", out, err)
	}
	if _, _, err := runTrove(t, "", append([]string{"package", "mfa", "npm", "demo", "strong"}, url...)...); err == nil ||
		!strings.Contains(err.Error(), "want password, mfa or phishing-resistant") {
		t.Errorf("an unknown level: %v", err)
	}
}

// TestAdminCriticalCommand: an operator marks a package critical on the
// data directory, and clears the mark.
func TestAdminCriticalCommand(t *testing.T) {
	data := t.TempDir()
	c := config.Default()
	c.DataDir = data
	c.Finish()
	db, err := openDB(context.Background(), &c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.InsertPackage(ctx, &trove.Package{Ecosystem: trove.NPM, Name: "@acme/core", DisplayName: "@acme/core", CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	run := func(args ...string) (string, string, error) {
		return runTrove(t, "", append(append([]string{"admin", "critical"}, args...), "--data", data)...)
	}
	if _, _, err := run("mark", "npm", "@ACME/core"); err == nil || !strings.Contains(err.Error(), "lowercase") {
		t.Errorf("mark of an invalid name: %v, want the ecosystem's refusal", err)
	}
	if _, stderr, err := run("mark", "npm", "@acme/core"); err != nil || !strings.Contains(stderr, "@acme/core is critical") {
		t.Errorf("mark: %v, %s", err, stderr)
	}
	if out, _, err := run("list"); err != nil || out != "npm\t@acme/core\tmarked\n" {
		t.Errorf("list = %q, %v", out, err)
	}
	if _, stderr, err := run("unmark", "npm", "@acme/core"); err != nil || !strings.Contains(stderr, "not critical") {
		t.Errorf("unmark: %v, %s", err, stderr)
	}
	if _, _, err := run("mark", "npm", "nope"); err == nil || !strings.Contains(err.Error(), `no npm package "nope"`) {
		t.Errorf("mark of an unknown package: %v", err)
	}
	if _, _, err := run("mark", "cargo", "x"); err == nil || !strings.Contains(err.Error(), `unknown ecosystem "cargo"`) {
		t.Errorf("mark in an unknown ecosystem: %v", err)
	}
}
