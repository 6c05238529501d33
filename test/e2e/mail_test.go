//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// startTroveWithMail starts a server that sends its mail to an in-process
// SMTP server.
func startTroveWithMail(t *testing.T) (*Trove, *mailtest.Server) {
	t.Helper()
	smtp := mailtest.Start(t)
	tr := startTrove(t, "TROVE_MAIL_HOST=127.0.0.1", "TROVE_MAIL_PORT="+strconv.Itoa(smtp.Port), "TROVE_MAIL_TLS=none",
		"TROVE_MAIL_FROM=Trove <trove@localhost>")
	return tr, smtp
}

// TestNPMPublishNeedsAVerifiedEmail: the real npm client of a user whose
// address is not verified is refused with what to do; once it is
// verified the publish goes through, and the owner is mailed about the
// release (PKM-07).
func TestNPMPublishNeedsAVerifiedEmail(t *testing.T) {
	tr, smtp := startTroveWithMail(t)
	tr.AddUnverifiedUser(t, "uma")
	npm := newNPM(t, tr, tr.Token(t, "uma", "*", "read,publish"))
	lib := writePackage(t, libFiles("1.0.0"))
	out := npm.mustFail(lib, "publish")
	wantOutput(t, "unverified npm publish", out, "403", "verify your email address first", "u…@example.test", "trove admin user verify uma")

	// The link went out through the running server's sender.
	got := smtp.Wait(t, 1, 30*time.Second)
	if got[0].To[0] != "uma@example.test" || !regexp.MustCompile(`/-/verify-email\?token=[A-Za-z0-9_-]{43}`).MatchString(got[0].Body) {
		t.Fatalf("verification mail: %+v", got[0])
	}

	tr.trove(t, "", "admin", "user", "verify", "uma")
	wantOutput(t, "verified npm publish", npm.must(lib, "publish"), "+ @acme/lib@1.0.0")

	// Mailed: the token's creation, the verification, the release.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var subjects []string
		for _, m := range smtp.Messages() {
			subjects = append(subjects, m.Subject)
		}
		all := strings.Join(subjects, "\n")
		if strings.Contains(all, "npm @acme/lib published: version 1.0.0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no release notice within a minute; received:\n%s", all)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// verifyByMail follows the verification link mailed to addr as a browser
// does: the GET shows a button, whose POST verifies.
func verifyByMail(t *testing.T, tr *Trove, smtp *mailtest.Server, addr string) {
	t.Helper()
	re := regexp.MustCompile(`/-/verify-email\?token=([A-Za-z0-9_-]{43})`)
	deadline := time.Now().Add(30 * time.Second)
	var token string
	for token == "" {
		for _, m := range smtp.Messages() {
			if m.To[0] == addr {
				if got := re.FindStringSubmatch(m.Body); got != nil {
					token = got[1]
				}
			}
		}
		if token == "" && time.Now().After(deadline) {
			t.Fatalf("no verification mail to %s within 30s", addr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get(tr.URL + "/-/verify-email?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `value="`+token+`"`) {
		t.Fatalf("GET the verification link: %d\n%s", resp.StatusCode, page)
	}
	req, _ := http.NewRequest("POST", tr.URL+"/-/verify-email", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", tr.URL)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "is verified") {
		t.Fatalf("POST the verification: %d\n%s", resp.StatusCode, page)
	}
}
