package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// emailSite is a site whose accounts verify addresses and record events,
// as cmd/trove wires them, with an in-process SMTP server.
type emailSite struct {
	*site
	outbox *mail.Outbox
	verify *account.Verifications
	smtp   *mailtest.Server
	sender *mail.SMTP
}

func newEmailSite(t *testing.T) *emailSite {
	t.Helper()
	s := newSite(t)
	e := &emailSite{site: s, outbox: mail.NewOutbox(s.db, s.clock.now), smtp: mailtest.Start(t)}
	notes := account.NewNotifications(s.db, e.outbox, "http://trove.test", s.clock.now)
	e.verify = account.NewVerifications(s.db, e.outbox, notes, "http://trove.test", s.clock.now)
	s.h.o.Verify, s.h.o.Events, s.h.o.Notifier = e.verify, notes, notes
	if err := e.verify.MarkVerified(context.Background(), s.alice, "test"); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.sender, err = mail.NewSMTP(e.smtp.Config()); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, 1) // the notice that the address is verified
	return e
}

// deliver sends the queued mail and returns all received so far.
func (e *emailSite) deliver(t *testing.T, want int) []mailtest.Message {
	t.Helper()
	if _, err := e.outbox.Deliver(context.Background(), e.sender); err != nil {
		t.Fatal(err)
	}
	got := e.smtp.Wait(t, want, 5*time.Second)
	if len(got) != want {
		t.Fatalf("received %d messages, want %d", len(got), want)
	}
	return got
}

func (e *emailSite) address(t *testing.T) string {
	t.Helper()
	u, err := e.users.ByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	return u.Email
}

var changeLinkRE = regexp.MustCompile(`http://trove\.test(/-/email-change\?token=([A-Za-z0-9_-]+))`)

// TestEmailChangePages: the profile shows the address and the form; the
// request needs sudo; the link's GET shows what would change and changes
// nothing; its POST changes the address; the old address is told twice.
func TestEmailChangePages(t *testing.T) {
	e := newEmailSite(t)
	b := e.browser()
	b.signIn("alice", alicePassword)
	resp, page := b.get("/-/account")
	if resp.StatusCode != 200 || !strings.Contains(page, `<span id="email">alice@example.com</span>`) || !strings.Contains(page, "(verified)") ||
		!strings.Contains(page, `action="/-/account/email"`) || strings.Contains(page, `id="pending-email"`) {
		t.Fatalf("profile: %d\n%s", resp.StatusCode, page)
	}

	// Sudo is needed: past it, the form leads to the password first.
	e.clock.advance(11 * time.Minute)
	resp, _ = b.post("/-/account/email", url.Values{"email": {"alice@new.example"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/-/sudo?next=") {
		t.Fatalf("change without sudo: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if p, _ := e.verify.PendingChange(context.Background(), e.alice.ID); p != nil {
		t.Fatal("a change was asked for without sudo")
	}
	if resp, _ := b.post("/-/sudo", url.Values{"password": {alicePassword}, "next": {"/-/account"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sudo: %d", resp.StatusCode)
	}

	// A bad address is explained on the profile, and nothing is mailed.
	resp, page = b.post("/-/account/email", url.Values{"email": {"<b>not an address"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "is not a plain address like name@example.com") || strings.Contains(page, "<b>not") {
		t.Fatalf("a bad address: %d\n%s", resp.StatusCode, page)
	}
	if p, _ := e.outbox.List(context.Background(), "pending", 10); len(p) != 0 {
		t.Fatalf("a refused change queued %d messages", len(p))
	}

	resp, _ = b.post("/-/account/email", url.Values{"email": {"alice@new.example"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/account?done=email-change" {
		t.Fatalf("change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.get("/-/account?done=email-change")
	if !strings.Contains(page, `id="pending-email"`) || !strings.Contains(page, "alice@new.example") || !strings.Contains(page, "We mailed a link to your new address") ||
		!strings.Contains(page, `<span id="email">alice@example.com</span>`) {
		t.Fatalf("profile with a pending change:\n%s", page)
	}
	got := e.deliver(t, 3)[1:]
	var link []string
	for _, m := range got {
		switch m.To[0] {
		case "alice@new.example":
			link = changeLinkRE.FindStringSubmatch(m.Body)
		case "alice@example.com":
			if !strings.Contains(m.Body, "alice@new.example") || !strings.Contains(m.Body, "127.0.0.1") {
				t.Errorf("notice of the request:\n%s", m.Body)
			}
		}
	}
	if link == nil {
		t.Fatalf("no link mailed to the new address: %+v", got)
	}

	// The link's GET, by anyone (a mail scanner), changes nothing.
	scanner := e.browser()
	for range 2 {
		resp, page = scanner.get(link[1])
		if resp.StatusCode != 200 || !strings.Contains(page, `name="token" value="`+link[2]+`"`) || !strings.Contains(page, "alice@new.example") ||
			resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("GET the link: %d %v\n%s", resp.StatusCode, resp.Header, page)
		}
	}
	if got := e.address(t); got != "alice@example.com" {
		t.Fatalf("a GET changed the address to %s", got)
	}

	// Its POST from another site is refused.
	req, _ := http.NewRequest("POST", e.srv.URL+"/-/email-change", strings.NewReader(url.Values{"token": {link[2]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := scanner.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site confirmation: %v %v", resp, err)
	}
	if got := e.address(t); got != "alice@example.com" {
		t.Fatalf("a cross-site POST changed the address to %s", got)
	}

	resp, page = scanner.post("/-/email-change", url.Values{"token": {link[2]}})
	if resp.StatusCode != 200 || !strings.Contains(page, "The email address of alice is now alice@new.example, and verified") {
		t.Fatalf("POST the link: %d\n%s", resp.StatusCode, page)
	}
	if got := e.address(t); got != "alice@new.example" {
		t.Fatalf("address %s after the link", got)
	}
	for _, tok := range []string{link[2], strings.Repeat("A", 43), "<script>"} {
		resp, page = scanner.post("/-/email-change", url.Values{"token": {tok}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "invalid, expired or already used") || strings.Contains(page, "<script>") {
			t.Errorf("POST %q: %d\n%s", tok, resp.StatusCode, page)
		}
	}
	got = e.deliver(t, 4)
	if m := got[3]; m.To[0] != "alice@example.com" || !strings.Contains(m.Subject, "the email address was changed") {
		t.Fatalf("second notice: %v %q", m.To, m.Subject)
	}
	_, page = b.get("/-/account/events")
	if !strings.Contains(page, "email-changed") || !strings.Contains(page, "email-change-requested") {
		t.Errorf("events page:\n%s", page)
	}
}

// TestEmailChangeCancel: the profile's cancel button ends the pending
// change (its link stops working); a form from another site can neither
// ask for a change nor cancel one.
func TestEmailChangeCancel(t *testing.T) {
	e := newEmailSite(t)
	b := e.browser()
	b.signIn("alice", alicePassword)
	// A form of another site cannot ask for a change.
	req, _ := http.NewRequest("POST", e.srv.URL+"/-/account/email", strings.NewReader(url.Values{"email": {"evil@evil.example"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site change: %v %v", resp, err)
	}
	if p, _ := e.verify.PendingChange(context.Background(), e.alice.ID); p != nil {
		t.Fatalf("a cross-site form asked for a change: %+v", p)
	}
	if resp, _ := b.post("/-/account/email", url.Values{"email": {"alice@new.example"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d", resp.StatusCode)
	}
	got := e.deliver(t, 3)
	link := changeLinkRE.FindStringSubmatch(got[1].Body + got[2].Body)

	req, _ = http.NewRequest("POST", e.srv.URL+"/-/account/email/cancel", nil)
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin cancel: %v %v", resp, err)
	}
	// Cancelling needs no sudo: it only protects.
	e.clock.advance(11 * time.Minute)
	resp, _ := b.post("/-/account/email/cancel", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/account?done=email-cancel" {
		t.Fatalf("cancel: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := b.get("/-/account?done=email-cancel")
	if strings.Contains(page, `id="pending-email"`) || !strings.Contains(page, html.EscapeString("The change of your email address was cancelled")) {
		t.Fatalf("profile after cancel:\n%s", page)
	}
	resp, _ = e.browser().post("/-/email-change", url.Values{"token": {link[2]}})
	if resp.StatusCode != http.StatusBadRequest || e.address(t) != "alice@example.com" {
		t.Fatalf("a cancelled link: %d, address %s", resp.StatusCode, e.address(t))
	}
	resp, page = b.post("/-/account/email/cancel", url.Values{})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "no change of your email address is pending") {
		t.Fatalf("cancel with nothing pending: %d\n%s", resp.StatusCode, page)
	}
}

// TestEmailChangeSignedOut: the account's forms need a session.
func TestEmailChangeSignedOut(t *testing.T) {
	e := newEmailSite(t)
	b := e.browser()
	for _, p := range []string{"/-/account/email", "/-/account/email/cancel"} {
		resp, _ := b.post(p, url.Values{"email": {"x@new.example"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d", p, resp.StatusCode)
		}
	}
	if p, _ := e.verify.PendingChange(context.Background(), e.alice.ID); p != nil {
		t.Fatal("a change was asked for without a session")
	}
}

// TestPasswordChangeIsNotified: a password changed on the web is a
// security event mailed to the verified address, saying from where.
func TestPasswordChangeIsNotified(t *testing.T) {
	e := newEmailSite(t)
	b := e.browser()
	b.signIn("alice", alicePassword)
	const next = "a brand new passphrase 77"
	if resp, _ := b.post("/-/account/password", url.Values{"current": {alicePassword}, "new": {next}, "confirm": {next}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d", resp.StatusCode)
	}
	m := e.deliver(t, 2)[1]
	if m.To[0] != "alice@example.com" || !strings.Contains(m.Subject, "the password was changed") || !strings.Contains(m.Body, "127.0.0.1") ||
		!strings.Contains(m.Body, "http://trove.test/-/account/security") {
		t.Fatalf("notice: %v %q\n%s", m.To, m.Subject, m.Body)
	}
	if _, page := b.get("/-/account/events"); !strings.Contains(page, "password-changed") {
		t.Errorf("events page:\n%s", page)
	}
}
