package web

import (
	"context"
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

// TestVerifyEmailPages: the mailed link shows a confirmation whose POST
// verifies; the GET changes nothing; a used or wrong link is refused; a
// signed-in user can ask for a new link.
func TestVerifyEmailPages(t *testing.T) {
	ctx := context.Background()
	smtp := mailtest.Start(t)
	s := newSite(t)
	outbox := mail.NewOutbox(s.db, s.clock.now)
	verify := account.NewVerifications(s.db, outbox, nil, "http://trove.test", s.clock.now)
	s.h.o.Verify = verify // as cmd/trove wires it
	if err := verify.Send(ctx, nil, s.alice); err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSMTP(smtp.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Deliver(ctx, sender); err != nil {
		t.Fatal(err)
	}
	m := smtp.Wait(t, 1, 5*time.Second)[0]
	link := regexp.MustCompile(`http://trove\.test(/-/verify-email\?token=([A-Za-z0-9_-]+))`).FindStringSubmatch(m.Body)
	if link == nil {
		t.Fatalf("no link in:\n%s", m.Body)
	}
	b := s.browser()
	resp, page := b.get(link[1])
	if resp.StatusCode != 200 || !strings.Contains(page, `name="token" value="`+link[2]+`"`) || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("GET the link: %d %v\n%s", resp.StatusCode, resp.Header, page)
	}
	if ok, _ := verify.Verified(ctx, s.alice.ID); ok {
		t.Fatal("a GET verified the address")
	}
	resp, page = b.post("/-/verify-email", url.Values{"token": {link[2]}})
	if resp.StatusCode != 200 || !strings.Contains(page, "The email address of alice is verified") {
		t.Fatalf("POST the link: %d\n%s", resp.StatusCode, page)
	}
	if ok, _ := verify.Verified(ctx, s.alice.ID); !ok {
		t.Fatal("not verified")
	}
	for _, tok := range []string{link[2], strings.Repeat("A", 43), "<script>"} {
		resp, page = b.post("/-/verify-email", url.Values{"token": {tok}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "invalid, expired or already used") || strings.Contains(page, "<script>") {
			t.Errorf("POST %q: %d\n%s", tok, resp.StatusCode, page)
		}
	}

	// A signed-in user whose address is not verified asks for a new link.
	root := s.browser()
	root.signIn("root", rootPassword)
	resp, _ = root.post("/-/account/verify-email", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resend: %d", resp.StatusCode)
	}
	if p, _ := outbox.List(ctx, "pending", 10); len(p) != 1 || p[0].Recipient != "root@example.com" || p[0].Kind != "verify-email" {
		t.Fatalf("pending after resend: %+v", p)
	}
}
