//go:build e2e

package e2e

import (
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
