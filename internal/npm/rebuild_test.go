package npm

import (
	"testing"

	"github.com/trove-dev/trove/internal/server/servertest"
)

// TestRebuild rebuilds published versions from their tarballs alone, as
// trove log recover does, and gets the manifests publishing stored.
func TestRebuild(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, `{"name":"@acme/lib","version":"1.0.0","dependencies":{"left-pad":"^1.0.0"},"scripts":{"install":"node x.js"}}`, "README.md", "# lib\n\nA library.\n")
	e.publish(tok, `{"name":"plain","version":"2.0.0-beta.1"}`)
	if n := servertest.CheckRebuild(t, e.Env, Rules{}, "_npmUser", "maintainers"); n != 2 {
		t.Errorf("checked %d publish records, want 2", n)
	}
}
