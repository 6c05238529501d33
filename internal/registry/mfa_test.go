package registry_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// newPolicyEnv is newEnv with the MFA policy's default level def.
func newPolicyEnv(t *testing.T, def trove.AuthLevel) *env {
	t.Helper()
	db := dbtest.Open(t)
	e := &env{db: db, blobs: memblob.New(), now: newEnv(t).now}
	var err error
	e.reg, err = registry.New(registry.Config{DB: db, Blobs: e.blobs, Scan: scan.NewPipeline(),
		Rules: []registry.Rules{rules{"npm"}}, TempDir: filepath.Join(t.TempDir(), "tmp"), Now: func() time.Time { return e.now },
		PublishAuth: def, SecurityURL: "https://trove.test/-/account/security"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var levels = []trove.AuthLevel{trove.AuthNone, trove.AuthPassword, trove.AuthMFA, trove.AuthPhishingResistant}

// TestMFAPolicyMatrix publishes and yanks with tokens of every level on
// packages under every combination of registry default, package override
// and critical mark: a change is allowed exactly when the token's level
// meets max(default, override, critical ? phishing-resistant : none).
func TestMFAPolicyMatrix(t *testing.T) {
	for _, def := range levels[1:] {
		e := newPolicyEnv(t, def)
		root := e.user(t, "root", true)
		root.Level = trove.AuthPhishingResistant
		alice := e.user(t, "alice", false)
		i := 0
		for _, override := range []trove.AuthLevel{trove.AuthNone, trove.AuthMFA, trove.AuthPhishingResistant} {
			if override != trove.AuthNone && override < def {
				continue // refused: see TestMFAPolicyOverrideOnlyUpward
			}
			for _, critical := range []bool{false, true} {
				for _, have := range levels {
					i++
					name := fmt.Sprintf("p%d", i)
					alice.Level = trove.AuthPhishingResistant
					e.publish(t, alice, name, "1.0", "one")
					if override != trove.AuthNone {
						if err := e.reg.SetPublishAuth(ctx, alice, "npm", name, override); err != nil {
							t.Fatalf("SetPublishAuth(%s, %s): %v", name, override, err)
						}
					}
					if err := e.reg.SetCritical(ctx, root, "npm", name, critical, nil); err != nil {
						t.Fatal(err)
					}
					need := max(def, override)
					if critical {
						need = trove.AuthPhishingResistant
					}
					alice.Level = have
					_, pubErr := e.reg.Publish(ctx, alice, e.upload(t, name, "2.0", map[string]string{name + "-2.tgz": "two"}))
					yankErr := e.reg.Yank(ctx, alice, trove.Target{Ecosystem: "npm", Name: name, Version: "1.0"}, "")
					what := fmt.Sprintf("default %s, override %s, critical %v, token %s (needs %s)", def, override, critical, have, need)
					for op, err := range map[string]error{"publish": pubErr, "yank": yankErr} {
						checkLevelErr(t, op+", "+what, err, have.Meets(need), need, critical)
					}
				}
			}
		}
	}
}

func checkLevelErr(t *testing.T, what string, err error, allowed bool, need trove.AuthLevel, critical bool) {
	t.Helper()
	var le *access.LevelError
	switch {
	case allowed && err != nil:
		t.Errorf("%s: %v, want allowed", what, err)
	case allowed:
	case !errors.As(err, &le) || !errors.Is(err, access.ErrDenied):
		t.Errorf("%s: %v, want a LevelError wrapping ErrDenied", what, err)
	case le.Need != need || le.Critical != critical:
		t.Errorf("%s: refused as needing %s (critical %v)", what, le.Need, le.Critical)
	case need > trove.AuthPassword && !strings.Contains(err.Error(), "https://trove.test/-/account/security"),
		!strings.Contains(err.Error(), "create a new token"):
		t.Errorf("%s: the refusal %q does not say where to add a factor and what to do", what, err)
	}
}

// TestMFAPolicyDefaultIsMFA: a registry configured with nothing asks for
// a second factor; a password-only token cannot publish a new package.
func TestMFAPolicyDefaultIsMFA(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	alice.Level = trove.AuthPassword
	_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.tgz": "one"}))
	var le *access.LevelError
	if !errors.As(err, &le) || le.Need != trove.AuthMFA {
		t.Fatalf("Publish with a password-only token = %v, want a LevelError needing mfa", err)
	}
	if !strings.Contains(err.Error(), "second factor") || !strings.Contains(err.Error(), "--otp") {
		t.Errorf("refusal %q does not explain how to get an MFA token", err)
	}
	alice.Level = trove.AuthNone // a token minted before levels were recorded
	if _, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.tgz": "one"})); !errors.As(err, &le) {
		t.Errorf("Publish with a token from before levels = %v, want a LevelError", err)
	}
}

// TestMFAPolicyReleaseLevel: a release records the level of the token
// that published it (SCVS-4.5).
func TestMFAPolicyReleaseLevel(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	alice.Level = trove.AuthPhishingResistant
	res := e.publish(t, alice, "demo", "1.0", "one")
	if res.Release.AuthLevel != trove.AuthPhishingResistant {
		t.Errorf("Result.Release.AuthLevel = %s, want phishing-resistant", res.Release.AuthLevel)
	}
	p, _ := e.db.Package(ctx, "npm", "demo")
	rels, err := e.db.Releases(ctx, p.ID)
	if err != nil || len(rels) != 1 || rels[0].AuthLevel != trove.AuthPhishingResistant {
		t.Errorf("stored release level = %v, %v; want phishing-resistant", rels, err)
	}
}

// TestMFAPolicyOverrideOnlyUpward: owners raise their package's level,
// never below the registry's default; others cannot change it; an owner
// cannot set a level their own token does not meet.
func TestMFAPolicyOverrideOnlyUpward(t *testing.T) {
	e := newPolicyEnv(t, trove.AuthMFA)
	alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
	e.publish(t, alice, "demo", "1.0", "one")
	if err := e.reg.SetPublishAuth(ctx, alice, "npm", "demo", trove.AuthPassword); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("SetPublishAuth(below the default) = %v, want ErrInvalid", err)
	}
	if err := e.reg.SetPublishAuth(ctx, bob, "npm", "demo", trove.AuthPhishingResistant); !errors.Is(err, access.ErrDenied) {
		t.Errorf("SetPublishAuth by a non-owner = %v, want ErrDenied", err)
	}
	var le *access.LevelError
	if err := e.reg.SetPublishAuth(ctx, alice, "npm", "demo", trove.AuthPhishingResistant); !errors.As(err, &le) {
		t.Errorf("SetPublishAuth(phishing-resistant) with an MFA token = %v, want a LevelError", err)
	}
	alice.Level = trove.AuthPhishingResistant
	if err := e.reg.SetPublishAuth(ctx, alice, "npm", "demo", trove.AuthPhishingResistant); err != nil {
		t.Fatal(err)
	}
	pol, err := e.reg.Policy(ctx, "npm", "demo")
	if err != nil || pol.Needs != trove.AuthPhishingResistant {
		t.Fatalf("Policy = %+v, %v; want needs phishing-resistant", pol, err)
	}
	// Back to the default: stored as no override.
	if err := e.reg.SetPublishAuth(ctx, alice, "npm", "demo", trove.AuthMFA); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.db.Package(ctx, "npm", "demo"); true {
		if pol, _ := e.db.PackagePolicy(ctx, p.ID); pol != (meta.PackagePolicy{}) {
			t.Errorf("policy after lowering to the default = %+v, want no override", pol)
		}
	}
}

// TestMFAPolicyCriticalPackage is issue 11's rule: a critical package
// refuses a maintainer whose token was minted after a TOTP sign-in and
// admits one minted after a security-key sign-in.
func TestMFAPolicyCriticalPackage(t *testing.T) {
	e := newEnv(t)
	root := e.user(t, "root", true)
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "core", "1.0", "one")
	if err := e.reg.SetCritical(ctx, alice, "npm", "core", true, nil); !errors.Is(err, access.ErrDenied) {
		t.Errorf("SetCritical by a non-administrator = %v, want ErrDenied", err)
	}
	var told []string
	notice := func(_ context.Context, ids []int64, eco trove.Ecosystem, name trove.Name, why string) error {
		told = append(told, fmt.Sprintf("%v %s:%s", ids, eco, name))
		return nil
	}
	if err := e.reg.SetCritical(ctx, root, "npm", "core", true, notice); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("[%d] npm:core", alice.UserID); len(told) != 1 || told[0] != want {
		t.Errorf("maintainers told %v, want [%s]", told, want)
	}
	totp := *alice
	totp.Level = trove.AuthMFA
	_, err := e.reg.Publish(ctx, &totp, e.upload(t, "core", "2.0", map[string]string{"core-2.tgz": "two"}))
	var le *access.LevelError
	if !errors.As(err, &le) || !le.Critical || !strings.Contains(err.Error(), "security key") {
		t.Fatalf("TOTP-only maintainer publishing a critical package: %v, want a refusal naming security keys", err)
	}
	key := *alice
	key.Level = trove.AuthPhishingResistant
	if _, err := e.reg.Publish(ctx, &key, e.upload(t, "core", "2.0", map[string]string{"core-2.tgz": "two"})); err != nil {
		t.Errorf("maintainer with a security-key token: %v, want published", err)
	}
}
