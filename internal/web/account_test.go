package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

var secretRE = regexp.MustCompile(`trove_[0-9A-Za-z]{49}`)

func TestTokenCreateAndRevoke(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.signIn("alice", alicePassword)
	resp, page := b.post("/-/account/tokens", url.Values{"description": {"ci"}, "packages": {"npm:left-pad, npm:@acme/*"}, "actions": {"read", "publish"}, "days": {"7"}})
	if resp.StatusCode != 200 || resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %v", resp.StatusCode, resp.Header)
	}
	secret := secretRE.FindString(page)
	p, err := s.toks.Authenticate(context.Background(), secret)
	if err != nil || p.UserName != "alice" || len(p.Packages) != 2 || len(p.Actions) != 2 {
		t.Fatalf("new token: %+v %v", p, err)
	}
	if p.Level != trove.AuthPassword { // alice signed in with her password alone
		t.Errorf("new token's level = %s, want the session's, password", p.Level)
	}
	// The secret is shown once: the list does not hold it.
	if _, list := b.get("/-/account/tokens"); strings.Contains(list, secret) || !strings.Contains(list, p.TokenPublicID) {
		t.Fatal("token list shows the secret, or not the token")
	}
	if resp, _ := b.post("/-/account/tokens/revoke", url.Values{"id": {p.TokenPublicID}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if _, err := s.toks.Authenticate(context.Background(), secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("revoked token still works: %v", err)
	}
	// Bad input changes nothing and says why.
	resp, page = b.post("/-/account/tokens", url.Values{"description": {"x"}, "packages": {"*"}, "days": {"7"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "at least one action") {
		t.Errorf("token without actions: %d", resp.StatusCode)
	}
	resp, page = b.post("/-/account/tokens", url.Values{"description": {"x"}, "packages": {"*"}, "actions": {"read"}, "days": {"7"}, "cidrs": {"10.0.0.0/8, 10.0.0.300"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "&#34;10.0.0.300&#34;: not an address or CIDR prefix") {
		t.Errorf("token with a bad address prefix: %d", resp.StatusCode)
	}
	if toks, _ := s.toks.List(context.Background(), s.alice.ID); len(toks) != 1 {
		t.Errorf("%d tokens after refused creates", len(toks))
	}
	// An address allow-list, shown in the list.
	resp, page = b.post("/-/account/tokens", url.Values{"description": {"office"}, "packages": {"*"}, "actions": {"read"}, "days": {"7"}, "cidrs": {"192.0.2.7/24, 2001:db8::/32"}})
	if resp.StatusCode != 200 {
		t.Fatalf("token with address prefixes: %d", resp.StatusCode)
	}
	if toks, _ := s.toks.List(context.Background(), s.alice.ID); len(toks) != 2 || strings.Join(toks[0].CIDRs, " ") != "192.0.2.0/24 2001:db8::/32" {
		t.Errorf("stored address prefixes: %v", toks[0].CIDRs)
	}
	if _, list := b.get("/-/account/tokens"); !strings.Contains(list, "only from 192.0.2.0/24, 2001:db8::/32") {
		t.Error("the token list does not show the address prefixes")
	}
}

func TestSudoRequired(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.signIn("alice", alicePassword)
	s.clock.advance(11 * time.Minute) // past sudo, within idle
	req := url.Values{"description": {"ci"}, "packages": {"*"}, "actions": {"read"}, "days": {"7"}}
	resp, _ := b.post("/-/account/tokens", req)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/-/sudo?next=") {
		t.Fatalf("token create without sudo: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if toks, _ := s.toks.List(context.Background(), s.alice.ID); len(toks) != 0 {
		t.Fatal("a token was created without re-authentication")
	}
	if resp, _ := b.post("/-/sudo", url.Values{"password": {"wrong"}, "next": {"/-/account/tokens"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sudo with a wrong password: %d", resp.StatusCode)
	}
	resp, _ = b.post("/-/sudo", url.Values{"password": {alicePassword}, "next": {"/-/account/tokens"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/account/tokens" {
		t.Fatalf("sudo: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.post("/-/account/tokens", req); resp.StatusCode != 200 {
		t.Fatalf("token create in sudo: %d", resp.StatusCode)
	}
}

func TestCrossOriginFormRefused(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.signIn("alice", alicePassword)
	form := url.Values{"description": {"evil"}, "packages": {"*"}, "actions": {"publish"}, "days": {"7"}}
	for _, hd := range [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		req, _ := http.NewRequest("POST", s.srv.URL+"/-/account/tokens", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hd[0], hd[1])
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page := body(t, resp)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "another site") {
			t.Errorf("%s: %d", hd[0], resp.StatusCode)
		}
	}
	if toks, _ := s.toks.List(context.Background(), s.alice.ID); len(toks) != 0 {
		t.Fatal("a cross-origin form created a token")
	}
}

func TestSessionIdleAndLifetime(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	b.signIn("alice", alicePassword)
	for i := 0; i < 3; i++ { // used every 50 minutes: stays alive past the 1 h idle limit
		s.clock.advance(50 * time.Minute)
		if resp, _ := b.get("/-/account"); resp.StatusCode != 200 {
			t.Fatalf("active session ended after %d × 50 min: %d", i+1, resp.StatusCode)
		}
	}
	s.clock.advance(61 * time.Minute)
	if resp, _ := b.get("/-/account"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/-/signin?next=") {
		t.Fatalf("idle session still works: %d", resp.StatusCode)
	}
	// Absolute lifetime: used every 30 minutes, still ends after 12 h.
	b = s.browser()
	b.signIn("alice", alicePassword)
	for i := 0; i < 24; i++ {
		s.clock.advance(30 * time.Minute)
		resp, _ := b.get("/-/account")
		if i < 23 && resp.StatusCode != 200 || i == 23 && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after %d min: %d", (i+1)*30, resp.StatusCode)
		}
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	s := newSite(t)
	b1, b2 := s.browser(), s.browser()
	b1.signIn("alice", alicePassword)
	b2.signIn("alice", alicePassword)
	const next = "a brand new passphrase 77"
	resp, page := b1.post("/-/account/password", url.Values{"current": {alicePassword}, "new": {"short"}, "confirm": {"short"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "class=\"error\"") {
		t.Fatalf("weak password: %d", resp.StatusCode)
	}
	resp, _ = b1.post("/-/account/password", url.Values{"current": {alicePassword}, "new": {next}, "confirm": {next}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d", resp.StatusCode)
	}
	if resp, _ := b1.get("/-/account"); resp.StatusCode != 200 {
		t.Errorf("the changing session ended: %d", resp.StatusCode)
	}
	if resp, _ := b2.get("/-/account"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another session survived the password change: %d", resp.StatusCode)
	}
	if _, err := s.users.SignIn(context.Background(), "alice", next, remote()); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestSessionsListAndRevokeOthers(t *testing.T) {
	s := newSite(t)
	b1, b2 := s.browser(), s.browser()
	b1.signIn("alice", alicePassword)
	b2.signIn("alice", alicePassword)
	_, page := b1.get("/-/account/sessions")
	if strings.Count(page, `name="id" value="`) != 3 || !strings.Contains(page, "(this session)") {
		t.Fatalf("sessions page: %s", page)
	}
	b1.post("/-/account/sessions/revoke", url.Values{"id": {"others"}})
	if resp, _ := b2.get("/-/account"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("other session survived: %d", resp.StatusCode)
	}
	if resp, _ := b1.get("/-/account"); resp.StatusCode != 200 {
		t.Errorf("own session ended: %d", resp.StatusCode)
	}
}

func TestAdminDisable(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	secret, _, err := s.toks.Create(ctx, s.alice.ID, access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Read}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.toks.Authenticate(ctx, secret); err != nil { // cached now
		t.Fatal(err)
	}
	alice := s.browser()
	alice.signIn("alice", alicePassword)
	if resp, _ := alice.get("/-/admin/users"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("admin page for a non-admin: %d", resp.StatusCode)
	}
	root := s.browser()
	root.signIn("root", rootPassword)
	if _, page := root.get("/-/admin/users"); !strings.Contains(page, `id="user-alice"`) {
		t.Fatal("admin list lacks alice")
	}
	if resp, _ := root.post("/-/admin/users/alice/disable", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if _, err := s.toks.Authenticate(ctx, secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("a disabled account's token works: %v", err)
	}
	if resp, _ := alice.get("/-/account"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled account's session works: %d", resp.StatusCode)
	}
	if _, err := s.users.SignIn(ctx, "alice", alicePassword, remote()); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("a disabled account signs in: %v", err)
	}
	root.post("/-/admin/users/alice/enable", nil)
	if _, err := s.toks.Authenticate(ctx, secret); err != nil {
		t.Errorf("re-enabled account's token: %v", err)
	}
	// Forced reset: the next sign-in goes to the password page, and every
	// other page leads there until the password changes.
	root.post("/-/admin/users/alice/reset", nil)
	b := s.browser()
	if loc := b.signIn("alice", alicePassword); loc != "/-/account/password" {
		t.Fatalf("sign-in after a forced reset went to %q", loc)
	}
	if resp, _ := b.get("/-/account/tokens"); resp.Header.Get("Location") != "/-/account/password" {
		t.Errorf("tokens page during a forced reset: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := root.post("/-/admin/users/root/disable", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an admin disabled themselves: %d", resp.StatusCode)
	}
}

func TestPlainNetworkRefused(t *testing.T) {
	s := newSite(t, func(o *Options) { o.HTTPSURL = "https://trove.test" })
	srv := httptestServer(t, s.h)
	resp, err := http.Get(srv + "/-/signin")
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "https://trove.test/-/signin") {
		t.Errorf("sign-in over plain network: %d %s", resp.StatusCode, page)
	}
	if resp, _ := http.Get(srv + "/"); resp.StatusCode != 200 {
		t.Errorf("home over plain network: %d", resp.StatusCode)
	}
}

func TestNPMLoginConfirm(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	id, done, err := s.h.o.Logins.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	resp, _ := b.get(npmLoginPrefix + id)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/-/signin?next=%2F-%2Fnpm-login%2F") {
		t.Fatalf("npm login, signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, signin := b.get(resp.Header.Get("Location"))
	if !strings.Contains(signin, "npm login") {
		t.Error("sign-in page does not say it is for npm")
	}
	resp, _ = b.post("/-/signin", url.Values{"name": {"alice"}, "password": {alicePassword}, "next": {npmLoginPrefix + id}})
	if resp.Header.Get("Location") != npmLoginPrefix+id {
		t.Fatalf("sign-in went to %q", resp.Header.Get("Location"))
	}
	resp, page := b.get(npmLoginPrefix + id)
	if resp.StatusCode != 200 || resp.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(page, "Yes, sign in npm") {
		t.Fatalf("confirm page: %d", resp.StatusCode)
	}
	if tok, _ := s.h.o.Logins.Poll(ctx, done); tok != "" {
		t.Fatal("the login completed before the confirmation")
	}
	if resp, _ := b.post(npmLoginPrefix+id, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	tok, err := s.h.o.Logins.Poll(ctx, done)
	if err != nil || tok == "" {
		t.Fatalf("poll after confirmation: %q %v", tok, err)
	}
	if resp, _ := b.get(npmLoginPrefix + id); resp.StatusCode != http.StatusNotFound {
		t.Errorf("used login: %d", resp.StatusCode)
	}
}
