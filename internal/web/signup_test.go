package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/mail"
)

// signupSite is a site with mail and the sign-up mode.
func signupSite(t *testing.T, mode string) (*site, *account.Verifications, *mail.Outbox) {
	t.Helper()
	s := newSite(t)
	outbox := mail.NewOutbox(s.db, s.clock.now)
	verify := account.NewVerifications(s.db, outbox, nil, "http://trove.test", s.clock.now)
	s.users.SetVerifications(verify) // as cmd/trove wires them
	s.h.o.Verify, s.h.o.Signup = verify, mode
	return s, verify, outbox
}

var inviteRE = regexp.MustCompile(`/-/signup\?invite=([A-Za-z0-9_-]{43})`)

func TestSignupByInvitation(t *testing.T) {
	ctx := context.Background()
	s, verify, outbox := signupSite(t, "invite")
	if err := verify.Invite(ctx, "erin@example.com", s.root); err != nil {
		t.Fatal(err)
	}
	pending, _ := outbox.List(ctx, "pending", 10)
	secret := inviteRE.FindStringSubmatch(pending[0].Body)
	if len(pending) != 1 || pending[0].Kind != "invite" || secret == nil {
		t.Fatalf("invitation mail: %+v", pending)
	}
	b := s.browser()
	if resp, page := b.get("/-/signup"); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "by invitation") {
		t.Errorf("open sign-up in invite mode: %d", resp.StatusCode)
	}
	resp, page := b.get("/-/signup?invite=" + secret[1])
	if resp.StatusCode != 200 || !strings.Contains(page, `value="erin@example.com" readonly`) {
		t.Fatalf("invitation page: %d\n%s", resp.StatusCode, page)
	}
	form := url.Values{"invite": {secret[1]}, "name": {"erin"}, "password": {"short"}, "email": {"attacker@example.com"}}
	if resp, page := b.post("/-/signup", form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "at least 16") {
		t.Fatalf("weak password: %d\n%s", resp.StatusCode, page)
	}
	form.Set("password", "violet canyon 42 marmalade")
	if resp, page := b.post("/-/signup", form); resp.StatusCode != 200 || !strings.Contains(page, "The account erin was created") {
		t.Fatalf("sign-up: %d\n%s", resp.StatusCode, page)
	}
	u, err := s.users.ByName(ctx, "erin")
	if err != nil || u.Email != "erin@example.com" {
		t.Fatalf("erin = %+v, %v: the invited address, not the one posted", u, err)
	}
	if ok, _ := verify.Verified(ctx, u.ID); !ok {
		t.Error("an invited address is not verified")
	}
	form.Set("name", "erin2")
	if resp, _ := b.post("/-/signup", form); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an invitation was used twice: %d", resp.StatusCode)
	}
}

func TestSignupOpenAndClosed(t *testing.T) {
	ctx := context.Background()
	s, verify, outbox := signupSite(t, "open")
	b := s.browser()
	form := url.Values{"name": {"frank"}, "email": {"frank@example.com"}, "password": {"violet canyon 42 marmalade"}}
	if resp, page := b.post("/-/signup", form); resp.StatusCode != 200 || !strings.Contains(page, "follow it to verify") {
		t.Fatalf("open sign-up: %d\n%s", resp.StatusCode, page)
	}
	u, _ := s.users.ByName(ctx, "frank")
	if ok, _ := verify.Verified(ctx, u.ID); ok {
		t.Error("an open sign-up's address is verified without its link")
	}
	if p, _ := outbox.List(ctx, "pending", 10); len(p) != 1 || p[0].Kind != "verify-email" || p[0].Recipient != "frank@example.com" {
		t.Errorf("verification mail: %+v", p)
	}
	if resp, page := b.post("/-/signup", form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "taken") {
		t.Errorf("a taken name: %d\n%s", resp.StatusCode, page)
	}

	closed, _, _ := signupSite(t, "closed")
	cb := closed.browser()
	if resp, _ := cb.get("/-/signup"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET sign-up when closed: %d", resp.StatusCode)
	}
	form.Set("name", "gina")
	if resp, _ := cb.post("/-/signup", form); resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST sign-up when closed: %d", resp.StatusCode)
	}
	if _, err := closed.users.ByName(ctx, "gina"); err == nil {
		t.Error("an account was created while sign-up is closed")
	}
}
