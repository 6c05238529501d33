package npm

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

// codeFactors is a Factors whose users with TOTP accept each of a list of
// codes once, as account.Factors does: a used code is refused.
type codeFactors struct {
	mu    sync.Mutex
	codes map[int64][]string // user → codes not used yet
	used  map[string]bool
	keys  map[int64]bool // users with a security key
	tries int
}

func (f *codeFactors) Strongest(_ context.Context, userID int64) (trove.AuthLevel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch _, totp := f.codes[userID]; {
	case f.keys[userID]:
		return trove.AuthPhishingResistant, nil
	case totp:
		return trove.AuthMFA, nil
	}
	return trove.AuthPassword, nil
}

func (f *codeFactors) HasTOTP(_ context.Context, userID int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.codes[userID]
	return ok, nil
}

func (f *codeFactors) VerifyTOTP(_ context.Context, userID int64, code string, _ netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	for _, c := range f.codes[userID] {
		if c == code && !f.used[code] {
			f.used[code] = true
			return nil
		}
	}
	return account.ErrBadCode
}

// TestOTPChallenge: the writes of an account with TOTP, with a token
// minted without a second factor, are answered 401 with exactly
// "WWW-Authenticate: OTP" until a valid npm-otp header comes; a used code
// is refused; the code raises the request to level mfa (the default
// policy then admits it) and the release records it.
func TestOTPChallenge(t *testing.T) {
	f := &codeFactors{codes: map[int64][]string{}, used: map[string]bool{}}
	e := newEnv(t, func(o *Options) { o.Factors = f })
	alice := e.User(t, "alice", false)
	f.codes[alice.ID] = []string{"111111", "222222", "333333"}
	weak := e.TokenAt(t, trove.AuthPassword, alice, nil) // npm login without a code
	tgz := pkgTgz(t, pkgJSONOf("demo", "1.0.0", nil))
	doc := publishDoc(t, e.reg, pkgJSONOf("demo", "1.0.0", nil), tgz)

	r := do(t, "PUT", e.reg+"/demo", weak, doc).want(t, http.StatusUnauthorized)
	if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != "OTP" {
		t.Errorf("WWW-Authenticate = %q, want exactly OTP (npm recognises nothing else)", got)
	}
	if !strings.Contains(r.errorText(), "--otp") {
		t.Errorf("challenge message %q does not mention --otp", r.errorText())
	}
	if strings.Contains(r.String(), "authUrl") {
		t.Errorf("a TOTP-only account was offered the web flow: %s", r)
	}
	r = do(t, "PUT", e.reg+"/demo", weak, doc, OTPHeader, "999999").want(t, http.StatusUnauthorized)
	if r.header.Get("WWW-Authenticate") != "OTP" || !strings.Contains(r.errorText(), "wrong or was already used") {
		t.Errorf("wrong code: %q %q, want the challenge again saying the code is wrong", r.header.Get("WWW-Authenticate"), r.errorText())
	}
	do(t, "PUT", e.reg+"/demo", weak, doc, OTPHeader, "111111").want(t, http.StatusOK)
	p, _ := e.DB.Package(ctx, "npm", "demo")
	rels, _ := e.DB.Releases(ctx, p.ID)
	if len(rels) != 1 || rels[0].AuthLevel != trove.AuthMFA {
		t.Errorf("release level after an OTP publish = %v, want mfa", rels)
	}

	// dist-tag changes are writes too; a used code is refused.
	tag := e.reg + "/-/package/demo/dist-tags/beta"
	do(t, "PUT", tag, weak, `"1.0.0"`).want(t, http.StatusUnauthorized)
	do(t, "PUT", tag, weak, `"1.0.0"`, OTPHeader, "111111").want(t, http.StatusUnauthorized)
	do(t, "PUT", tag, weak, `"1.0.0"`, OTPHeader, "222222").want(t, http.StatusOK)
	// Token revocation too.
	do(t, "DELETE", e.reg+"/-/npm/v1/tokens/token/nonexistent", weak, nil).want(t, http.StatusUnauthorized)

	// A token minted after a second factor is not challenged again.
	strong := e.Token(t, alice, nil)
	do(t, "PUT", e.reg+"/-/package/demo/dist-tags/next", strong, `"1.0.0"`).want(t, http.StatusOK)

	// Reads are never challenged.
	do(t, "GET", e.reg+"/demo", weak, nil).want(t, http.StatusOK)

	// An account without TOTP is not challenged: the MFA policy refuses
	// its password-only token with 403 and says what to do.
	bob := e.User(t, "bob", false)
	r = do(t, "PUT", e.reg+"/other", e.TokenAt(t, trove.AuthPassword, bob, nil),
		publishDoc(t, e.reg, pkgJSONOf("other", "1.0.0", nil), pkgTgz(t, pkgJSONOf("other", "1.0.0", nil)))).want(t, http.StatusForbidden)
	if r.header.Get("WWW-Authenticate") != "" || !strings.Contains(r.errorText(), "second factor") {
		t.Errorf("password-only token without TOTP: %q, want a 403 explaining the second factor", r.errorText())
	}
}

// TestOTPCannotMeetCriticalPolicy: a one-time password gives level mfa,
// not phishing-resistant: a critical package refuses the publish with 403
// naming security keys.
func TestOTPCannotMeetCriticalPolicy(t *testing.T) {
	f := &codeFactors{codes: map[int64][]string{}, used: map[string]bool{}}
	e := newEnv(t, func(o *Options) { o.Factors = f })
	alice := e.User(t, "alice", false)
	f.codes[alice.ID] = []string{"111111"}
	key := e.TokenAt(t, trove.AuthPhishingResistant, alice, nil)
	e.publish(key, pkgJSONOf("core", "1.0.0", nil))
	root := admin(e)
	root.Level = trove.AuthPhishingResistant
	if err := e.Registry.SetCritical(ctx, root, "npm", "core", true, nil); err != nil {
		t.Fatal(err)
	}
	weak := e.TokenAt(t, trove.AuthPassword, alice, nil)
	doc := publishDoc(t, e.reg, pkgJSONOf("core", "2.0.0", nil), pkgTgz(t, pkgJSONOf("core", "2.0.0", nil)))
	r := do(t, "PUT", e.reg+"/core", weak, doc, OTPHeader, "111111").want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "security key") || !strings.Contains(r.errorText(), "critical") {
		t.Errorf("critical package with an OTP: %q, want a refusal naming security keys", r.errorText())
	}
	do(t, "PUT", e.reg+"/core", key, doc).want(t, http.StatusOK)
}
