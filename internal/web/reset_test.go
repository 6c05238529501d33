package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/web/webtest"
)

// liveDNS is a resolver under which example.com receives mail and every
// other domain does not exist.
type liveDNS struct{}

func (liveDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if name == "example.com." {
		return []*net.MX{{Host: "mx.example.com.", Pref: 10}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (liveDNS) LookupNetIP(_ context.Context, _, name string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// mailbox is a Mailer that keeps the mail.
type mailbox struct {
	mu   sync.Mutex
	mail []account.Mail
}

func (m *mailbox) Send(_ context.Context, msg account.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mail = append(m.mail, msg)
	return nil
}

func (m *mailbox) all() []account.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]account.Mail(nil), m.mail...)
}

var resetLink = regexp.MustCompile(`http://trove\.test/-/reset/confirm\?token=([A-Za-z0-9_-]{43})`)

// resetSite is a site whose resets mail to box, with links under
// http://trove.test.
func resetSite(t *testing.T) (*site, *account.Resets, *mailbox) {
	box := &mailbox{}
	s := newSite(t)
	domains := account.NewDomains(s.db, account.NewDomainChecker(liveDNS{}), s.clock.now)
	resets := account.NewResets(s.users, domains, box, func(tok string) string {
		return "http://trove.test/-/reset/confirm?token=" + url.QueryEscape(tok)
	})
	s.h.o.Resets = resets
	return s, resets, box
}

// mailedToken returns the token of the only reset link mailed.
func mailedToken(t *testing.T, box *mailbox) string {
	t.Helper()
	mail := box.all()
	if len(mail) != 1 {
		t.Fatalf("mail = %+v, want one message", mail)
	}
	g := resetLink.FindStringSubmatch(mail[0].Text)
	if g == nil {
		t.Fatalf("no link in %q", mail[0].Text)
	}
	return g[1]
}

// TestResetPages: the reset request answers the same for any name, the
// mailed link sets a new password once (after the policy), and the old
// password and the browser sessions stop working.
func TestResetPages(t *testing.T) {
	s, resets, box := resetSite(t)
	old := s.browser()
	old.signIn("alice", alicePassword)

	b := s.browser()
	if _, body := b.get("/-/signin"); !strings.Contains(body, `href="/-/reset"`) {
		t.Error("the sign-in page has no link to the reset")
	}
	if resp, body := b.get("/-/reset"); resp.StatusCode != 200 || !strings.Contains(body, `name="who"`) {
		t.Fatalf("reset page: %d %s", resp.StatusCode, body)
	}
	_, known := b.post("/-/reset", url.Values{"who": {"alice"}})
	_, unknown := b.post("/-/reset", url.Values{"who": {"nobody@example.com"}})
	if known != unknown || !strings.Contains(known, "If an account matches") {
		t.Fatalf("the answers differ or say nothing:\n%s\n---\n%s", known, unknown)
	}
	if resp, _ := b.post("/-/reset", url.Values{"who": {""}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an empty request: %d", resp.StatusCode)
	}
	resets.Wait()
	token := mailedToken(t, box)
	if to := box.all()[0].To; to != "alice@example.com" {
		t.Fatalf("mailed to %s", to)
	}
	confirm := "/-/reset/confirm?token=" + token
	resp, body := b.get(confirm)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="reset-name">alice<`) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("confirm page: %d %q %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	const newPW = "seven amber bridges over quiet tides"
	if resp, body := b.post("/-/reset/confirm", url.Values{"token": {token}, "new": {newPW}, "confirm": {"other"}}); resp.StatusCode != 400 || !strings.Contains(body, "differ") {
		t.Errorf("mismatch: %d %s", resp.StatusCode, body)
	}
	if resp, body := b.post("/-/reset/confirm", url.Values{"token": {token}, "new": {"short"}, "confirm": {"short"}}); resp.StatusCode != 400 || !strings.Contains(body, "password too weak") {
		t.Errorf("weak: %d %s", resp.StatusCode, body)
	}
	resp, _ = b.post("/-/reset/confirm", url.Values{"token": {token}, "new": {newPW}, "confirm": {newPW}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/signin?reset=done" {
		t.Fatalf("set: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := b.get(confirm); resp.StatusCode != 404 || !strings.Contains(body, "invalid, used or expired") {
		t.Errorf("a used link: %d %s", resp.StatusCode, body)
	}
	if resp, _ := old.get("/-/account"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a session from before the reset still works: %d", resp.StatusCode)
	}
	if loc := s.browser().signIn("alice", newPW); loc != "/-/account" {
		t.Errorf("sign-in with the new password went to %s", loc)
	}
	if resp, _ := s.browser().post("/-/signin", url.Values{"name": {"alice"}, "password": {alicePassword}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password: %d", resp.StatusCode)
	}
}

// TestResetPagesOff: without a reset service the page says what to do
// instead, and the forms refuse.
func TestResetPagesOff(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	if _, body := b.get("/-/reset"); !strings.Contains(body, `id="reset-off"`) || !strings.Contains(body, "ask an administrator") {
		t.Errorf("reset page without resets: %s", body)
	}
	if resp, _ := b.post("/-/reset", url.Values{"who": {"alice"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST without resets: %d", resp.StatusCode)
	}
}

// TestBrowserReset: in Chromium, from the sign-in page's link through the
// mailed link to a sign-in with the new password.
func TestBrowserReset(t *testing.T) {
	s, resets, box := resetSite(t)
	ctx := webtest.Tab(t)
	do(t, ctx, "asking for a reset link",
		chromedp.Navigate(s.srv.URL+"/-/signin"),
		chromedp.Click(chromedp.ID("forgot")),
		chromedp.WaitVisible(chromedp.ID("who")),
		chromedp.SetValue(chromedp.ID("who"), "alice@example.com"),
		chromedp.Click(chromedp.ID("reset")),
		chromedp.WaitVisible(chromedp.ID("reset-sent")))
	resets.Wait()
	token := mailedToken(t, box)
	const newPW = "seven amber bridges over quiet tides"
	do(t, ctx, "setting the new password",
		chromedp.Navigate(s.srv.URL+"/-/reset/confirm?token="+token),
		chromedp.WaitVisible(chromedp.ID("reset-name")),
		chromedp.SetValue(chromedp.ID("new"), newPW),
		chromedp.SetValue(chromedp.ID("confirm"), newPW),
		chromedp.Click(chromedp.ID("set")),
		chromedp.WaitVisible(chromedp.ID("signin")))
	browserSignIn(t, ctx, s.srv.URL, "alice", newPW)
	if got := text(t, ctx, "#username"); got != "alice" {
		t.Fatalf("account page shows %q", got)
	}
}
