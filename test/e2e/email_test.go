//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// waitMail waits up to 30 seconds for a message to addr whose subject
// holds subject, and returns it.
func waitMail(t *testing.T, smtp *mailtest.Server, addr, subject string) mailtest.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range smtp.Messages() {
			if m.To[0] == addr && strings.Contains(m.Subject, subject) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %q to %s within 30s; received %d", subject, addr, len(smtp.Messages()))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestWebEmailChange: a signed-in user of a running server asks for a new
// address on their account page; the link arrives at the new address and
// a notice at the old one; the link's page changes nothing until its
// button is pressed; then the address is the new one, verified, and the
// old address is told again.
func TestWebEmailChange(t *testing.T) {
	tr, smtp := startTroveWithMail(t)
	tr.AddUser(t, "alice")
	jar := map[string]string{}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, tr.URL+path, strings.NewReader(form.Encode()))
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", tr.URL)
		}
		for k, v := range jar {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, ck := range resp.Cookies() {
			jar[ck.Name] = ck.Value
		}
		return resp, string(b)
	}
	if resp, _ := do("POST", "/-/signin", url.Values{"name": {"alice"}, "password": {Password}, "next": {"/-/account"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	if resp, page := do("GET", "/-/account", nil); resp.StatusCode != 200 || !strings.Contains(page, "alice@example.test") || !strings.Contains(page, "(verified)") {
		t.Fatalf("account page: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := do("POST", "/-/account/email", url.Values{"email": {"alice@new.test"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("asking for the change: %d", resp.StatusCode)
	}
	if _, page := do("GET", "/-/account", nil); !strings.Contains(page, "A change to <strong>alice@new.test</strong>") {
		t.Fatalf("no pending change on the account page:\n%s", page)
	}

	notice := waitMail(t, smtp, "alice@example.test", "a change of the email address was asked for")
	if !strings.Contains(notice.Body, "alice@new.test") || !strings.Contains(notice.Body, tr.URL+"/-/account") {
		t.Errorf("notice to the old address:\n%s", notice.Body)
	}
	confirm := waitMail(t, smtp, "alice@new.test", "Confirm your new email address")
	link := regexp.MustCompile(`/-/email-change\?token=([A-Za-z0-9_-]{43})`).FindStringSubmatch(confirm.Body)
	if link == nil || strings.Contains(notice.Body, link[1]) {
		t.Fatalf("confirmation mail:\n%s", confirm.Body)
	}

	// The link's page, opened by anyone, changes nothing.
	anon := &http.Client{}
	resp, err := anon.Get(tr.URL + link[0])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `value="`+link[1]+`"`) {
		t.Fatalf("GET the link: %d\n%s", resp.StatusCode, page)
	}
	if out := tr.trove(t, "", "admin", "user", "list"); !strings.Contains(out, "alice@example.test") {
		t.Fatalf("the GET changed the address:\n%s", out)
	}
	req, _ := http.NewRequest("POST", tr.URL+"/-/email-change", strings.NewReader(url.Values{"token": {link[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", tr.URL)
	resp, err = anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "is now alice@new.test, and verified") {
		t.Fatalf("POST the link: %d\n%s", resp.StatusCode, page)
	}
	if out := tr.trove(t, "", "admin", "user", "list"); !strings.Contains(out, "alice@new.test") {
		t.Fatalf("address after the link:\n%s", out)
	}
	changed := waitMail(t, smtp, "alice@example.test", "the email address was changed")
	if !strings.Contains(changed.Body, "from alice@example.test to alice@new.test") {
		t.Errorf("notice of the change:\n%s", changed.Body)
	}
	if _, page := do("GET", "/-/account", nil); !strings.Contains(page, `<span id="email">alice@new.test</span>`) || !strings.Contains(page, "(verified)") {
		t.Fatalf("account page after the change:\n%s", page)
	}
}
