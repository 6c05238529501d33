package npm

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

// webOTPEnv is an npm registry whose accounts may have security keys,
// with npm's web one-time passwords on and a clock the test moves.
type webOTPEnv struct {
	*env
	f    *codeFactors
	otps *account.NPMOTPs
	mu   sync.Mutex
	now  time.Time
}

func newWebOTPEnv(t *testing.T) *webOTPEnv {
	w := &webOTPEnv{f: &codeFactors{codes: map[int64][]string{}, used: map[string]bool{}, keys: map[int64]bool{}}, now: time.Now()}
	w.env = newEnv(t, func(o *Options) {
		o.Factors = w.f
		o.WebURL = "https://trove.test"
	})
	w.otps = account.NewNPMOTPs(w.DB, w.clock)
	w.h.o.WebOTP = w.otps // the handler's own copy of the options
	return w
}

func (w *webOTPEnv) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *webOTPEnv) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

// decode decodes the JSON body into v.
func (r response) decode(t *testing.T, v any) response {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r, err)
	}
	return r
}

// offer checks that r is npm's web challenge and returns its auth secret
// and doneUrl.
func offer(t *testing.T, r response) (authID, doneURL string) {
	t.Helper()
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != "OTP" {
		t.Fatalf("got %d %q, want 401 with WWW-Authenticate: OTP: %s", r.status, r.header.Get("WWW-Authenticate"), r)
	}
	var b struct{ AuthURL, DoneURL, Error string }
	r.decode(t, &b)
	authID, ok := strings.CutPrefix(b.AuthURL, "https://trove.test/-/npm-otp/")
	if !ok || !validSecret(authID) || b.DoneURL == "" || !strings.Contains(b.Error, b.AuthURL) {
		t.Fatalf("web challenge body %s: want authUrl under the web interface, doneUrl, and an error naming authUrl", r)
	}
	return authID, b.DoneURL
}

// TestWebOTP: an account with a security key and a token without a
// second factor is offered npm's web flow; npm polls doneUrl (202, then
// the one-time value once), and the value, sent back as npm-otp, raises
// that one request to the level the confirming web session proved.
// Refused: a confirmation from a weaker session, polls by another user,
// the value on another request, by another user, a second time, or after
// the challenge expired.
func TestWebOTP(t *testing.T) {
	e := newWebOTPEnv(t)
	alice, bob := e.User(t, "alice", false), e.User(t, "bob", false)
	e.f.keys[alice.ID] = true
	weak := e.TokenAt(t, trove.AuthPassword, alice, nil)
	bobs := e.TokenAt(t, trove.AuthPhishingResistant, bob, nil)
	doc := publishDoc(t, e.reg, pkgJSONOf("demo", "1.0.0", nil), pkgTgz(t, pkgJSONOf("demo", "1.0.0", nil)))

	r := do(t, "PUT", e.reg+"/demo", weak, doc)
	authID, doneURL := offer(t, r)
	if strings.Contains(r.errorText(), "--otp") {
		t.Errorf("an account without a TOTP app is told about --otp: %q", r.errorText())
	}
	// Pending: 202 with Retry-After, to its user only.
	p := do(t, "GET", doneURL, weak, nil).want(t, http.StatusAccepted)
	if p.header.Get("Retry-After") != "1" || p.String() != "{}\n" && p.String() != "{}" {
		t.Errorf("pending poll: Retry-After %q, body %q", p.header.Get("Retry-After"), p)
	}
	do(t, "GET", doneURL, bobs, nil).want(t, http.StatusNotFound)
	do(t, "GET", doneURL, "", nil).want(t, http.StatusNotFound)
	do(t, "GET", e.reg+"/-/v1/otp-done?id="+strings.Repeat("ab", 32), weak, nil).want(t, http.StatusNotFound)

	// The page: alice only, from a session at the level asked (mfa for a new package).
	if _, err := e.otps.Pending(ctx, authID, bob); !errors.Is(err, account.ErrNPMOTPNotFound) {
		t.Errorf("Pending for another user = %v, want not found", err)
	}
	c, err := e.otps.Pending(ctx, authID, alice)
	if err != nil || c.Needs != trove.AuthMFA || c.Operation != "PUT /demo" {
		t.Fatalf("Pending = %+v, %v; want PUT /demo at mfa", c, err)
	}
	var le *account.NPMOTPLevelError
	if err := e.otps.Confirm(ctx, authID, alice, trove.AuthPassword); !errors.As(err, &le) {
		t.Errorf("Confirm from a password session = %v, want a level error", err)
	}
	if err := e.otps.Confirm(ctx, authID, bob, trove.AuthPhishingResistant); !errors.Is(err, account.ErrNPMOTPNotFound) {
		t.Errorf("Confirm by another user = %v, want not found", err)
	}
	if err := e.otps.Confirm(ctx, authID, alice, trove.AuthPhishingResistant); err != nil {
		t.Fatal(err)
	}
	var got struct{ Token string }
	do(t, "GET", doneURL, weak, nil).want(t, http.StatusOK).decode(t, &got)
	if !account.IsNPMOTP(got.Token) {
		t.Fatalf("poll returned %q, want a web one-time password", got.Token)
	}
	do(t, "GET", doneURL, weak, nil).want(t, http.StatusNotFound) // handed out once

	// Not on another request, nor by another user: each answered with a new offer.
	offer(t, do(t, "PUT", e.reg+"/-/package/demo/dist-tags/beta", weak, `"1.0.0"`, OTPHeader, got.Token))
	offer(t, do(t, "PUT", e.reg+"/demo", bobs, doc, OTPHeader, got.Token))
	do(t, "PUT", e.reg+"/demo", weak, doc, OTPHeader, got.Token).want(t, http.StatusOK)
	pkg, _ := e.DB.Package(ctx, "npm", "demo")
	rels, _ := e.DB.Releases(ctx, pkg.ID)
	if len(rels) != 1 || rels[0].AuthLevel != trove.AuthPhishingResistant {
		t.Errorf("release level after a web OTP confirmed with a key = %v, want phishing-resistant", rels)
	}
	// Used once.
	doc2 := publishDoc(t, e.reg, pkgJSONOf("demo", "1.1.0", nil), pkgTgz(t, pkgJSONOf("demo", "1.1.0", nil)))
	offer(t, do(t, "PUT", e.reg+"/demo", weak, doc2, OTPHeader, got.Token))

	// Expired: a challenge confirmed and polled after NPMOTPTTL is gone.
	authID, doneURL = offer(t, do(t, "PUT", e.reg+"/demo", weak, doc2))
	e.advance(account.NPMOTPTTL)
	if err := e.otps.Confirm(ctx, authID, alice, trove.AuthPhishingResistant); !errors.Is(err, account.ErrNPMOTPNotFound) {
		t.Errorf("Confirm after expiry = %v, want not found", err)
	}
	do(t, "GET", doneURL, weak, nil).want(t, http.StatusNotFound)
	// Confirmed in time, used too late.
	authID, doneURL = offer(t, do(t, "PUT", e.reg+"/demo", weak, doc2))
	if err := e.otps.Confirm(ctx, authID, alice, trove.AuthMFA); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", doneURL, weak, nil).want(t, http.StatusOK).decode(t, &got)
	e.advance(account.NPMOTPTTL)
	offer(t, do(t, "PUT", e.reg+"/demo", weak, doc2, OTPHeader, got.Token))
}

// TestWebOTPCriticalPackage: a token minted after a TOTP sign-in cannot
// change a critical package; for an account with a security key the
// refusal becomes npm's web challenge at phishing-resistant, which only a
// key-confirmed session meets.
func TestWebOTPCriticalPackage(t *testing.T) {
	e := newWebOTPEnv(t)
	alice := e.User(t, "alice", false)
	e.f.keys[alice.ID] = true
	e.f.codes[alice.ID] = []string{"111111"}
	key := e.TokenAt(t, trove.AuthPhishingResistant, alice, nil)
	e.publish(key, pkgJSONOf("core", "1.0.0", nil))
	root := admin(e.env)
	root.Level = trove.AuthPhishingResistant
	if err := e.Registry.SetCritical(ctx, root, "npm", "core", true, nil); err != nil {
		t.Fatal(err)
	}
	mfa := e.TokenAt(t, trove.AuthMFA, alice, nil)
	doc := publishDoc(t, e.reg, pkgJSONOf("core", "2.0.0", nil), pkgTgz(t, pkgJSONOf("core", "2.0.0", nil)))
	authID, doneURL := offer(t, do(t, "PUT", e.reg+"/core", mfa, doc))
	if c, err := e.otps.Pending(ctx, authID, alice); err != nil || c.Needs != trove.AuthPhishingResistant {
		t.Fatalf("Pending = %+v, %v; want phishing-resistant", c, err)
	}
	var le *account.NPMOTPLevelError
	if err := e.otps.Confirm(ctx, authID, alice, trove.AuthMFA); !errors.As(err, &le) || !strings.Contains(err.Error(), "security key") {
		t.Errorf("Confirm from a TOTP session = %v, want a level error naming security keys", err)
	}
	if err := e.otps.Confirm(ctx, authID, alice, trove.AuthPhishingResistant); err != nil {
		t.Fatal(err)
	}
	var got struct{ Token string }
	do(t, "GET", doneURL, mfa, nil).want(t, http.StatusOK).decode(t, &got)
	do(t, "PUT", e.reg+"/core", mfa, doc, OTPHeader, got.Token).want(t, http.StatusOK)

	// A password token of the same account is offered the web flow at
	// once, at the package's level, and told --otp works too.
	weak := e.TokenAt(t, trove.AuthPassword, alice, nil)
	doc3 := publishDoc(t, e.reg, pkgJSONOf("core", "3.0.0", nil), pkgTgz(t, pkgJSONOf("core", "3.0.0", nil)))
	r := do(t, "PUT", e.reg+"/core", weak, doc3)
	authID, _ = offer(t, r)
	if c, err := e.otps.Pending(ctx, authID, alice); err != nil || c.Needs != trove.AuthPhishingResistant || !strings.Contains(r.errorText(), "--otp") {
		t.Errorf("Pending = %+v, %v; message %q; want phishing-resistant and --otp named", c, err, r.errorText())
	}
	// Without a key, the refusal stays a 403.
	bob := e.User(t, "bob", false)
	e.publish(e.TokenAt(t, trove.AuthPhishingResistant, bob, nil), pkgJSONOf("bobs", "1.0.0", nil))
	if err := e.Registry.SetCritical(ctx, root, "npm", "bobs", true, nil); err != nil {
		t.Fatal(err)
	}
	do(t, "PUT", e.reg+"/bobs", e.TokenAt(t, trove.AuthMFA, bob, nil),
		publishDoc(t, e.reg, pkgJSONOf("bobs", "2.0.0", nil), pkgTgz(t, pkgJSONOf("bobs", "2.0.0", nil)))).want(t, http.StatusForbidden)
}
