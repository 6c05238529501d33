package web

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/web/webtest"
)

// virtualKey adds a DevTools virtual authenticator to the tab: CTAP 2.1
// with resident keys and user verification, like a phone's passkeys.
// AutomaticPresenceSimulation must be sent as true: the Go field's zero
// value would leave every ceremony waiting for a touch.
func virtualKey(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enabling WebAuthn in DevTools: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatalf("adding a virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "signing out",
		chromedp.Click(chromedp.CSS(`form[action="/-/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/-/signin"]`)))
}

// passwordStep types the password; the page that follows is the second
// step when the user has a factor.
func passwordStep(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	do(t, ctx, "typing the password",
		chromedp.Navigate(base+"/-/signin"),
		chromedp.SetValue(chromedp.ID("name"), "alice"),
		chromedp.SetValue(chromedp.ID("password"), alicePassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("use-key")))
}

// TestBrowserPasskeys: in Chromium with a virtual authenticator, a user
// registers a passkey on the security page (and sees their recovery
// codes once), signs in with it without a password, uses it as the
// second factor after the password, and a forged signature is refused.
func TestBrowserPasskeys(t *testing.T) {
	m := newMFASite(t)
	ctx := webtest.Tab(t)
	auth := virtualKey(t, ctx)
	base := m.origin
	browserSignIn(t, ctx, base, "alice", alicePassword)
	do(t, ctx, "registering a passkey",
		chromedp.Navigate(base+"/-/account/security"),
		chromedp.Clear(chromedp.ID("key-name")),
		chromedp.SendKeys(chromedp.ID("key-name"), "laptop"),
		chromedp.Click(chromedp.ID("add-key")),
		chromedp.WaitVisible(chromedp.ID("webauthn-codes")))
	if codes := text(t, ctx, "#webauthn-codes ul"); strings.Count(codes, "-") != account.RecoveryCodes {
		t.Fatalf("recovery codes shown: %q", codes)
	}
	fs, err := m.factors.List(context.Background(), m.alice.ID)
	if err != nil || len(fs) != 1 || fs[0].Kind != meta.FactorWebAuthn || fs[0].Name != "laptop" {
		t.Fatalf("factors after registering: %+v, %v", fs, err)
	}
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %+v (%v), want one resident credential", creds, err)
	}
	if l, _ := m.factors.Strongest(context.Background(), m.alice.ID); l != trove.AuthPhishingResistant {
		t.Fatalf("Strongest = %v", l)
	}
	do(t, ctx, "opening the security page", chromedp.Navigate(base+"/-/account/security"), chromedp.WaitVisible(chromedp.ID("key-name")))
	writeShot(t, ctx, "security")
	signOut(t, ctx)

	// Passwordless.
	do(t, ctx, "signing in with the passkey",
		chromedp.Navigate(base+"/-/signin"),
		chromedp.Click(chromedp.ID("passkey")),
		chromedp.WaitVisible(chromedp.ID("username")))
	if l := m.level(t); l != trove.AuthPhishingResistant {
		t.Fatalf("passkey sign-in level %v", l)
	}
	signOut(t, ctx)

	// Second factor after the password.
	passwordStep(t, ctx, base)
	do(t, ctx, "using the key as the second factor",
		chromedp.Click(chromedp.ID("use-key")),
		chromedp.WaitVisible(chromedp.ID("username")))
	if l := m.level(t); l != trove.AuthPhishingResistant {
		t.Fatalf("second-factor level %v", l)
	}
	signOut(t, ctx)

	// A forged signature is refused, and the session stays pending.
	bogus := true
	if _, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: auth, IsBogusSignature: &bogus}); err != nil {
		t.Fatal(err)
	}
	passwordStep(t, ctx, base)
	do(t, ctx, "using the key with a bogus signature",
		chromedp.Click(chromedp.ID("use-key")),
		chromedp.WaitVisible(chromedp.CSS("#webauthn-status.err")))
	if msg := text(t, ctx, "#webauthn-status"); !strings.Contains(msg, "security key check failed") {
		t.Fatalf("refusal says %q", msg)
	}
	if l := m.level(t); l != trove.AuthNone {
		t.Fatalf("a bogus signature left the session at %v, want pending", l)
	}
}

// writeShot writes a screenshot of the tab as name.png to -screenshots
// if set (docs/screenshots/), else to a temporary directory.
func writeShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// plainCredential is webauthn.Credential without the CMTG members, which
// cdproto always sends and Chromium's virtual authenticator refuses.
type plainCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle,omitempty"`
	SignCount            float64 `json:"signCount"`
}

type addPlainCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      plainCredential          `json:"credential"`
}

var addPlainCredential = cdp.Command[addPlainCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

// TestBrowserClonedKey: a key whose sign count goes backwards (a copy
// of the credential used after the original) is refused, flagged and
// reported to its owner.
func TestBrowserClonedKey(t *testing.T) {
	m := newMFASite(t)
	ctx := webtest.Tab(t)
	auth := virtualKey(t, ctx)
	base := m.origin
	browserSignIn(t, ctx, base, "alice", alicePassword)
	do(t, ctx, "registering a key",
		chromedp.Navigate(base+"/-/account/security"),
		chromedp.Click(chromedp.ID("add-key")),
		chromedp.WaitVisible(chromedp.ID("webauthn-codes")))
	signOut(t, ctx)
	passwordStep(t, ctx, base)
	do(t, ctx, "a first use", chromedp.Click(chromedp.ID("use-key")), chromedp.WaitVisible(chromedp.ID("username")))
	signOut(t, ctx)
	// The copy: the same private key with its counter back at zero.
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	if err != nil || len(creds.Credentials) != 1 || creds.Credentials[0].SignCount < 2 {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	old := creds.Credentials[0]
	c := plainCredential{CredentialID: old.CredentialID, IsResidentCredential: old.IsResidentCredential, RpID: old.RpID,
		PrivateKey: old.PrivateKey, UserHandle: old.UserHandle, SignCount: 0}
	if _, err := chromedp.Call(ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: c.CredentialID}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, addPlainCredential, addPlainCredentialParams{AuthenticatorID: auth, Credential: c}); err != nil {
		t.Fatal(err)
	}
	passwordStep(t, ctx, base)
	do(t, ctx, "using the copy",
		chromedp.Click(chromedp.ID("use-key")),
		chromedp.WaitVisible(chromedp.CSS("#webauthn-status.err")))
	if msg := text(t, ctx, "#webauthn-status"); !strings.Contains(msg, "cloned") {
		t.Fatalf("refusal says %q", msg)
	}
	if m.events.count(account.EventCloneWarning) != 1 {
		t.Fatalf("events %v, want a clone warning", m.events.got)
	}
	fs, _ := m.factors.List(context.Background(), m.alice.ID)
	if len(fs) != 1 || !fs[0].CloneWarning {
		t.Fatalf("factor after the clone: %+v", fs)
	}
	if l, _ := m.factors.Strongest(context.Background(), m.alice.ID); l != trove.AuthPassword {
		t.Fatalf("a cloned key still counts: Strongest = %v", l)
	}
}
