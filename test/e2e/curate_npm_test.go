//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCurationWithNPM: real npm installing an upstream package through a
// Trove whose curation policies change what it resolves: a cool-down
// hides every new version, an approval lets one through, a deny mark beats
// the approval, approved-only mode serves only approved versions, and an
// exact request of a blocked version is refused with the rule and whom to
// ask.
func TestCurationWithNPM(t *testing.T) {
	p := startUpstreamPair(t, "npm", "")
	up := newNPM(t, p.Up, p.UpToken)
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		up.must(writePackage(t, libFiles(v)), "publish")
	}
	curator := []string{"TROVE_URL=" + p.Down.URL, "TROVE_TOKEN=" + p.Down.Token(t, "root", "*", "read,curate")}
	trove := func(args ...string) { t.Helper(); must(t, "", curator, troveBin, args...) }
	down := newNPM(t, p.Down, "")
	// install installs @acme/lib@^1.0.0 into a new project and returns the
	// version npm chose, or "" and npm's output when it found none; it
	// retries until want (Down rereads an upstream document after its
	// 1s TTL, and the curation change reaches every page then).
	install := func(want string) string {
		t.Helper()
		var got, out string
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			down.freshCache()
			dir := writePackage(t, map[string]string{"package.json": `{"name":"app","version":"1.0.0","dependencies":{"@acme/lib":"^1.0.0"}}`})
			var err error
			out, err = runCmd(t, dir, npmEnv, "", "npm", down.args("install", "--no-audit", "--no-fund")...)
			got = ""
			if err == nil {
				got = acmeLibVersion(t, dir)
			}
			if got == want || time.Now().After(deadline) {
				break
			}
		}
		if got != want {
			t.Fatalf("npm install @acme/lib@^1.0.0 got version %q, want %q:\n%s", got, want, out)
		}
		return out
	}

	trove("policy", "set", "npm", "--min-age", "72h", "--why", "cool-down")
	out := install("")
	wantOutput(t, "npm install under a cool-down", out, "No versions available for @acme/lib")
	trove("approve", "npm", "@acme/lib", "1.1.0", "--why", "reviewed")
	install("1.1.0")

	// An exact request of a blocked version names the rule and whom to ask.
	resp, err := http.Get(p.Down.URL + "/npm/@acme/lib/-/lib-1.2.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "rule cooldown") || !strings.Contains(string(body), "ask a curator") {
		t.Errorf("GET the tarball of blocked 1.2.0 = %s %s, want 403 naming the cool-down and whom to ask", resp.Status, body)
	}

	trove("deny", "npm", "@acme/lib", "1.1.0", "--why", "broken build")
	install("")
	trove("deny", "npm", "@acme/lib", "1.1.0", "--undo")
	trove("policy", "set", "npm", "--min-age", "0")
	install("1.2.0")
	trove("policy", "set", "npm", "@acme/*", "--mode", "approved-only", "--why", "reviewed only")
	install("1.1.0")
	trove("policy", "set", "npm", "@acme/*", "--mode", "inherit")
	install("1.2.0")
}

// acmeLibVersion returns the version of @acme/lib installed in dir.
func acmeLibVersion(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "@acme", "lib", "package.json"))
	if err != nil {
		return ""
	}
	var pj struct{ Version string }
	if err := json.Unmarshal(b, &pj); err != nil {
		t.Fatal(err)
	}
	return pj.Version
}
