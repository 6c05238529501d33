//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/trove-dev/trove/internal/web/webtest"
)

// startTroveLocalhost is startTrove with the base URL
// http://localhost:PORT: WebAuthn binds keys to a host name, so the
// browser must browse that name, while the listener (and tr.URL) stays on
// 127.0.0.1. It returns the base URL.
func startTroveLocalhost(t *testing.T) (*Trove, string) {
	t.Helper()
	tr := &Trove{Data: t.TempDir(), log: &syncBuffer{}}
	addr := freeAddr(t, "127.0.0.1")
	tr.URL = "http://" + addr
	base := "http://localhost:" + strings.TrimPrefix(addr, "127.0.0.1:")
	tr.launch(t, http.DefaultClient, []string{"--listen", addr}, []string{"TROVE_BASE_URL=" + base})
	return tr, base
}

// browse runs browser steps, failing the test with what was being done.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// pageText returns the text of the element sel selects.
func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// addVirtualKey adds a DevTools virtual authenticator to the tab: CTAP 2.1
// with resident keys and user verification, like a phone's passkeys
// (internal/web's browser tests use the same). AutomaticPresenceSimulation
// must be sent as true, or every ceremony waits for a touch.
func addVirtualKey(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
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

// otpDone fetches npm's doneUrl with token, as npm polls it, and returns
// the status and the body.
func otpDone(t *testing.T, doneURL, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", doneURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

var (
	npmAuthURL = regexp.MustCompile(`http://localhost:\d+/-/npm-otp/[A-Za-z0-9_-]+`)
	npmDoneURL = regexp.MustCompile(`http://localhost:\d+/npm/-/v1/otp-done\?id=[A-Za-z0-9_-]+`)
)

// TestNPMWebOTP: npm's web one-time password with the real npm and
// Chromium. alice registers a passkey; a publish with her password-level
// token, without a terminal, fails with EOTP and prints authUrl and
// doneUrl; she signs in again with the passkey, confirms on authUrl, and
// doneUrl gives the one-time value once; npm publish --otp=VALUE then
// publishes, the release records the passkey sign-in
// (phishing-resistant), and the value does not work twice.
func TestNPMWebOTP(t *testing.T) {
	tr, base := startTroveLocalhost(t)
	tr.AddUser(t, "alice")
	ctx := webtest.Tab(t)
	addVirtualKey(t, ctx)
	browse(t, ctx, "signing in with the password",
		chromedp.Navigate(base+"/-/signin"),
		chromedp.SetValue(chromedp.ID("name"), "alice"),
		chromedp.SetValue(chromedp.ID("password"), Password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("username")))
	browse(t, ctx, "registering a passkey",
		chromedp.Navigate(base+"/-/account/security"),
		chromedp.Clear(chromedp.ID("key-name")),
		chromedp.SendKeys(chromedp.ID("key-name"), "laptop"),
		chromedp.Click(chromedp.ID("add-key")),
		chromedp.WaitVisible(chromedp.ID("webauthn-codes")))

	// A token minted without a second factor, as npm login with a
	// password gives: level password.
	token := passwordToken(t, tr, "alice", "read,publish")
	npm := newNPM(t, tr, token)
	lib := writePackage(t, libFiles("1.0.0"))
	out := npm.mustFail(lib, "publish")
	wantOutput(t, "npm publish without a terminal", out, "EOTP", "Open this URL in your browser")
	authURL, doneURL := npmAuthURL.FindString(out), npmDoneURL.FindString(out)
	if authURL == "" || doneURL == "" {
		t.Fatalf("npm printed no authUrl or doneUrl under %s:\n%s", base, out)
	}
	if status, body := otpDone(t, doneURL, token); status != http.StatusAccepted {
		t.Fatalf("doneUrl before confirming: %d %s, want 202", status, body)
	}

	// The session that signed in with the password alone may not confirm
	// (the publish needs a second factor); signed in again with the
	// passkey, it may.
	browse(t, ctx, "opening authUrl signed in with a password", chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.CSS("#status.error")))
	if absent, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("confirm-npm-otp") === null`)); err != nil || !absent {
		t.Fatalf("a password session is offered the confirm button (%v)", err)
	}
	browse(t, ctx, "signing out",
		chromedp.Navigate(base+"/-/account"),
		chromedp.Click(chromedp.CSS(`form[action="/-/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/-/signin"]`)))
	browse(t, ctx, "signing in with the passkey",
		chromedp.Navigate(base+"/-/signin"),
		chromedp.Click(chromedp.ID("passkey")),
		chromedp.WaitVisible(chromedp.ID("username")))
	browse(t, ctx, "opening authUrl", chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.ID("confirm-npm-otp")))
	if op := pageText(t, ctx, "#operation"); !strings.HasPrefix(op, "PUT ") {
		t.Fatalf("the page asks to confirm %q, want npm's PUT", op)
	}
	browse(t, ctx, "confirming", chromedp.Click(chromedp.ID("confirm-npm-otp")), chromedp.WaitVisible(chromedp.CSS("#status.ok")))
	if msg := pageText(t, ctx, "h1"); msg != "Confirmed" {
		t.Fatalf("after confirming the page says %q", msg)
	}

	status, body := otpDone(t, doneURL, token)
	var done struct{ Token string }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &done) != nil || done.Token == "" {
		t.Fatalf("doneUrl after confirming: %d %s, want 200 {\"token\": …}", status, body)
	}
	if status, body := otpDone(t, doneURL, token); status != http.StatusNotFound {
		t.Fatalf("doneUrl a second time: %d %s, want 404", status, body)
	}

	wantOutput(t, "npm publish --otp with the web value", npm.must(lib, "publish", "--otp="+done.Token), "+ @acme/lib@1.0.0")
	if status, page := getPage(t, base+"/-/package/npm/@acme/lib@1.0.0"); status != http.StatusOK ||
		!strings.Contains(page, "Published after a sign-in with a security key or passkey (phishing-resistant).") {
		t.Fatalf("package page of 1.0.0 (%d) does not say it was published after a passkey sign-in:\n%s", status, page)
	}
	next := writePackage(t, libFiles("1.0.1"))
	wantOutput(t, "npm publish with the used web value", npm.mustFail(next, "publish", "--otp="+done.Token), "EOTP")
	if status, _ := getPage(t, base+"/-/package/npm/@acme/lib@1.0.1"); status != http.StatusNotFound {
		t.Fatalf("1.0.1 published with a used value: package page %d", status)
	}
}
