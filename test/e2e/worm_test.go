//go:build e2e

package e2e

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// TestNPMWormGuard: one token publishing new versions of more packages
// than policy.burst_packages in the window has the later ones held, with
// the real npm client: npm says why and what happens next, the held
// versions cannot be installed, the publisher and the packages' other
// owners are mailed, and an administrator's release makes one
// installable while a rejection discards the other.
func TestNPMWormGuard(t *testing.T) {
	const burst = 3
	smtp := mailtest.Start(t)
	tr := startTrove(t, "TROVE_MAIL_HOST=127.0.0.1", "TROVE_MAIL_PORT="+strconv.Itoa(smtp.Port), "TROVE_MAIL_TLS=none",
		"TROVE_MAIL_FROM=Trove <trove@localhost>", "TROVE_POLICY_BURST_PACKAGES="+strconv.Itoa(burst), "TROVE_POLICY_BURST_WINDOW=10m")
	tr.AddUser(t, "alice")
	tr.AddUser(t, "bob")
	npmAlice := newNPM(t, tr, tr.Token(t, "alice", "*", "read,publish"))
	npmBob := newNPM(t, tr, tr.Token(t, "bob", "*", "read,publish,owners"))

	// bob's package, which alice maintains too; then alice's token goes
	// through burst packages of its own, then bob's, then one more.
	shared := writePackage(t, plainPackage("shared", "1.0.0"))
	wantOutput(t, "bob publishes shared", npmBob.must(shared, "publish"), "+ shared@1.0.0")
	wantOutput(t, "npm owner add", npmBob.must(shared, "owner", "add", "alice", "shared"), "+ alice (shared)")
	for _, name := range []string{"w1", "w2", "w3"} {
		wantOutput(t, "publish "+name, npmAlice.must(writePackage(t, plainPackage(name, "1.0.0")), "publish"), "+ "+name+"@1.0.0")
	}
	out := npmAlice.mustFail(writePackage(t, plainPackage("shared", "2.0.0")), "publish")
	wantOutput(t, "the burst's fourth package", out, "409", "shared 2.0.0 is held for review and is not visible",
		"more than 3 packages within 10m0s", "worms", "owners were emailed", "administrator", "release it", "revoke your tokens")
	out = npmAlice.mustFail(writePackage(t, plainPackage("w4", "1.0.0")), "publish")
	wantOutput(t, "the burst's fifth package", out, "409", "w4 1.0.0 is held for review")

	// Neither is installable.
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npmBob.freshCache()
	wantOutput(t, "installing a held version", npmBob.mustFail(proj, "install", "shared@2.0.0"), "No matching version", "shared@2.0.0")
	wantOutput(t, "installing a held new package", npmBob.mustFail(proj, "install", "w4"), "404")

	// The publisher and the other owner are told, each about what is theirs.
	wantMail(t, smtp, "alice@example.test", "Trove: npm shared 2.0.0 held for review", "Uploaded by:  alice", "more than 3 packages", "trove admin held release npm shared 2.0.0")
	wantMail(t, smtp, "bob@example.test", "Trove: npm shared 2.0.0 held for review", "revoke your tokens")
	wantMail(t, smtp, "alice@example.test", "Trove: npm w4 1.0.0 held for review", "not visible")

	list := tr.trove(t, "", "admin", "held", "list")
	wantOutput(t, "trove admin held list", list, "shared", "2.0.0", "w4", "burst", "alice", "the token ")

	// Released: installable as uploaded. Rejected: gone, the version free.
	tr.trove(t, "", "admin", "held", "release", "npm", "w4", "1.0.0")
	tr.trove(t, "", "admin", "held", "reject", "npm", "shared", "2.0.0")
	waitStatus(t, tr.URL+"/npm/w4", http.StatusOK)
	npmBob.freshCache()
	npmBob.must(proj, "install", "w4@1.0.0")
	sameFiles(t, writePackage(t, plainPackage("w4", "1.0.0")), filepath.Join(proj, "node_modules/w4"))
	wantOutput(t, "npm view shared versions", npmBob.must(proj, "view", "shared", "versions"), "1.0.0")
	if out := npmBob.must(proj, "view", "shared", "versions"); strings.Contains(out, "2.0.0") {
		t.Errorf("a rejected version is listed: %s", out)
	}
	if out := tr.trove(t, "", "admin", "held", "list"); strings.Contains(out, "w4") || strings.Contains(out, "shared") {
		t.Errorf("holds left after release and reject:\n%s", out)
	}
}

// plainPackage is a package with no dependencies.
func plainPackage(name, version string) map[string]string {
	return map[string]string{
		"package.json": `{"name":"` + name + `","version":"` + version + `","main":"index.js","license":"MIT"}` + "\n",
		"index.js":     "module.exports = '" + name + " " + version + "'\n",
	}
}

// wantMail waits up to a minute for a mail to addr with the subject whose
// body contains every string.
func wantMail(t *testing.T, smtp *mailtest.Server, addr, subject string, wants ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var subjects []string
		for _, m := range smtp.Messages() {
			if m.To[0] == addr && m.Subject == subject {
				wantOutput(t, "mail "+subject+" to "+addr, m.Body, wants...)
				return
			}
			subjects = append(subjects, m.To[0]+": "+m.Subject)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %q to %s within a minute; received:\n%s", subject, addr, strings.Join(subjects, "\n"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitStatus waits up to 10 seconds for url to answer status.
func waitStatus(t *testing.T, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v, %v; want %d", url, resp, err, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTwineWormGuard: with the real twine, the upload of a token's second
// package within the window (burst 1) is held: twine fails with 409 and
// the reason phrase saying it is held; pip cannot install it; an
// administrator is mailed what to decide and the commands to run.
func TestTwineWormGuard(t *testing.T) {
	smtp := mailtest.Start(t)
	tr := startTrove(t, "TROVE_MAIL_HOST=127.0.0.1", "TROVE_MAIL_PORT="+strconv.Itoa(smtp.Port), "TROVE_MAIL_TLS=none",
		"TROVE_MAIL_FROM=Trove <trove@localhost>", "TROVE_POLICY_BURST_PACKAGES=1", "TROVE_POLICY_BURST_WINDOW=10m")
	tr.trove(t, Password+"\n", "admin", "user", "add", "root", "--email", "root@example.test", "--password-stdin", "--verified", "--admin")
	tok := alice(t, tr)
	_, first := pyBuild(t, pyProject(t, "worm-one", "1.0.0", "one"))
	_, second := pyBuild(t, pyProject(t, "worm-two", "1.0.0", "two"))
	if out, err := twine(t, tr, tok, nil, first); err != nil {
		t.Fatalf("twine upload of the first package: %v\n%s", err, out)
	}
	out, err := twine(t, tr, tok, nil, second)
	if err == nil {
		t.Fatalf("twine upload of the burst's second package succeeded:\n%s", out)
	}
	wantOutput(t, "twine upload of the burst's second package", out, "409", "held for review")
	if out, err := pip(t, tr, "download", "--no-deps", "-d", t.TempDir(), "worm-two==1.0.0"); err == nil {
		t.Errorf("pip downloaded a held package:\n%s", out)
	}
	wantMail(t, smtp, "root@example.test", "Trove: pypi worm-two 1.0.0 held for your review", "trove admin held release pypi worm-two 1.0.0")
	wantOutput(t, "trove admin held list", tr.trove(t, "", "admin", "held", "list"), "worm-two", "burst")
}
