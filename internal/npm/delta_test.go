package npm

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/scan/delta"
	"github.com/trove-dev/trove/internal/server/servertest"
)

// publishWith publishes name@version with extra package.json fields and
// files, and returns the response.
func (e *env) publishWith(token, name, version string, extra map[string]any, files ...string) response {
	e.t.Helper()
	pj := pkgJSONOf(name, version, extra)
	return do(e.t, "PUT", e.reg+"/"+strings.Replace(name, "/", "%2f", 1), token, publishDoc(e.t, e.reg, pj, pkgTgz(e.t, pj, files...)))
}

// TestDiffHolds publishes v1 and then versions that change in each way
// the diff scanner watches: each is held with a message saying what
// changed, and a version without such a change is published.
func TestDiffHolds(t *testing.T) {
	opts := delta.Defaults()
	opts.SizeFloor = 64 << 10
	e := newEnvWith(t, servertest.Options{Scanners: []scan.Scanner{delta.New(opts)}}, nil)
	alice, bob := e.userToken("alice"), e.userToken("bob")
	e.publishWith(alice, "demo", "1.0.0", map[string]any{"scripts": map[string]any{"test": "node test.js"}}).want(t, http.StatusOK)

	held := func(r response, want string) {
		t.Helper()
		r.want(t, http.StatusConflict)
		if text := r.errorText(); !strings.Contains(text, "held for review") || !strings.Contains(text, want) {
			t.Errorf("error %q, want it held, saying %q", text, want)
		}
	}
	held(e.publishWith(alice, "demo", "1.1.0", map[string]any{"scripts": map[string]any{"test": "node test.js", "postinstall": "node setup.js"}}),
		"postinstall script added: `node setup.js` (1.0.0 had none)")
	// npm adds the install script node-gyp runs for a binding.gyp.
	held(e.publishWith(alice, "demo", "1.1.1", nil, "binding.gyp", "{}"), "install script added: `node-gyp rebuild` (1.0.0 had none)")

	e.publishWith(bob, "fresh", "1.0.0", nil).want(t, http.StatusOK)
	held(e.publishWith(alice, "demo", "1.2.0", map[string]any{"dependencies": map[string]any{"fresh": "^1.0.0"}}),
		"new dependency on fresh, which was created less than 2 hours ago (1.0.0 did not depend on it)")

	held(e.publishWith(alice, "demo", "1.3.0", nil, "blob.js", strings.Repeat("x", 640<<10)), "size jumped from")

	// A new maintainer's first release.
	doc := e.writeDoc("demo")
	do(t, "PUT", e.reg+"/demo/-rev/"+doc["_rev"].(string), alice, map[string]any{"_id": "demo", "_rev": doc["_rev"],
		"maintainers": []map[string]string{{"name": "alice"}, {"name": "bob"}}}).want(t, http.StatusOK)
	held(e.publishWith(bob, "demo", "1.4.0", nil), "first release by bob, who got a role on the package less than 2 hours ago")

	// Versions without such changes are published, compared with the
	// latest published version (1.0.0: the held ones are not visible). A
	// dependency on a package this registry does not have is normal when
	// it has no upstream to ask.
	e.publishWith(alice, "demo", "1.5.0", map[string]any{"scripts": map[string]any{"test": "node test.js", "build": "tsc"},
		"dependencies": map[string]any{"not-here": "^1.0.0"}}).want(t, http.StatusOK)
	e.publishWith(alice, "demo", "1.6.0", map[string]any{"dependencies": map[string]any{"not-here": "^1.0.0"}}, "more.js", strings.Repeat("y", 1000)).want(t, http.StatusOK)
}

// BenchmarkPublishNextVersion publishes a new version of a package with
// 20 versions, 3 dependencies (one new each time) and a script, without
// scanners and with the comparison with the previous release: the
// difference is what the comparison costs a publish.
func BenchmarkPublishNextVersion(b *testing.B) {
	for _, tc := range []struct {
		name     string
		scanners []scan.Scanner
	}{{"none", nil}, {"delta", []scan.Scanner{delta.New(delta.Defaults())}}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnvWith(b, servertest.Options{Scanners: tc.scanners}, nil)
			tok := e.userToken("alice")
			deps := map[string]any{"left-pad": "^1.3.0", "lodash": "^4.17.21", "@acme/lib": "^1.0.0"}
			scripts := map[string]any{"test": "node test.js"}
			body := strings.Repeat("module.exports = 1\n", 200)
			for i := range 20 {
				e.publish(tok, pkgJSONOf("@acme/bench", fmt.Sprintf("1.%d.0", i), map[string]any{"dependencies": deps, "scripts": scripts}), "index.js", body)
			}
			b.ReportAllocs()
			i := 20
			for b.Loop() {
				deps["dep-"+strconv.Itoa(i)] = "^1.0.0"
				pj := pkgJSONOf("@acme/bench", fmt.Sprintf("1.%d.0", i), map[string]any{"dependencies": deps, "scripts": scripts})
				tgz := pkgTgz(b, pj, "index.js", body)
				do(b, "PUT", e.reg+"/@acme%2fbench", tok, publishDoc(b, e.reg, pj, tgz)).want(b, http.StatusOK)
				delete(deps, "dep-"+strconv.Itoa(i))
				i++
			}
		})
	}
}
