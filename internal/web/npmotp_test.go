package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

// TestNPMOTPPage: npm's web one-time password is confirmed on
// /-/npm-otp/S by its user, from a session at the level it needs; the
// value npm then polls carries that session's level. Another user, an
// unknown or malformed secret get a 404; a session below the level is
// told how to sign in and its confirmation is refused.
func TestNPMOTPPage(t *testing.T) {
	m := newMFASite(t)
	m.h.o.NPMOTPs = account.NewNPMOTPs(m.db, m.clock.now)
	otps := m.h.o.NPMOTPs
	ctx := context.Background()
	secret, _ := m.enrol(t)
	bob, err := m.users.Create(ctx, account.NewUser{Name: "bob", Email: "bob@example.com", Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	authID, doneID, err := otps.Start(ctx, m.alice.ID, "PUT /@acme%2flib", trove.AuthMFA)
	if err != nil {
		t.Fatal(err)
	}
	keyID, _, err := otps.Start(ctx, m.alice.ID, "PUT /core", trove.AuthPhishingResistant)
	if err != nil {
		t.Fatal(err)
	}

	b := m.browser()
	loc := b.signIn("alice", alicePassword)
	if resp, _ := b.post(loc, url.Values{"code": {totpCode(t, secret, m.clock.now())}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second step: %d", resp.StatusCode)
	}
	resp, body := b.get(npmOTPPrefix + authID)
	if resp.StatusCode != 200 || !strings.Contains(body, `<code id="operation">PUT /@acme%2flib</code>`) || !strings.Contains(body, `id="confirm-npm-otp"`) {
		t.Fatalf("GET the page: %d\n%s", resp.StatusCode, body)
	}
	// A TOTP session cannot confirm what needs a security key.
	resp, body = b.get(npmOTPPrefix + keyID)
	if resp.StatusCode != 200 || strings.Contains(body, `id="confirm-npm-otp"`) || !strings.Contains(body, "sign-in with a security key or passkey") {
		t.Errorf("GET a challenge needing a key from a TOTP session: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := b.post(npmOTPPrefix+keyID, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "security key or passkey") {
		t.Errorf("confirming it: %d\n%s", resp.StatusCode, body)
	}
	for _, p := range []string{npmOTPPrefix + strings.Repeat("ab", 32), npmOTPPrefix + "xyz"} {
		if resp, _ := b.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	// Another user sees nothing of it.
	ob := m.browser()
	ob.signIn(bob.Name, alicePassword)
	if resp, _ := ob.get(npmOTPPrefix + authID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another user's GET = %d, want 404", resp.StatusCode)
	}
	if resp, _ := ob.post(npmOTPPrefix+authID, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another user's confirmation = %d, want 404", resp.StatusCode)
	}
	if otp, err := otps.Poll(ctx, doneID, m.alice.ID); err != nil || otp != "" {
		t.Fatalf("poll before confirmation = %q, %v; want pending", otp, err)
	}
	if resp, body := b.post(npmOTPPrefix+authID, nil); resp.StatusCode != 200 || !strings.Contains(body, "Confirmed") {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.post(npmOTPPrefix+authID, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second confirmation = %d, want 404", resp.StatusCode)
	}
	otp, err := otps.Poll(ctx, doneID, m.alice.ID)
	if err != nil || otp == "" {
		t.Fatalf("poll after confirmation = %q, %v", otp, err)
	}
	if level, err := otps.Redeem(ctx, otp, m.alice.ID, "PUT /@acme%2flib"); err != nil || level != trove.AuthMFA {
		t.Errorf("Redeem = %v, %v; want the session's level, mfa", level, err)
	}
}
