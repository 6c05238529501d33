package npm

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/scan/secret"
	"github.com/trove-dev/trove/internal/server/servertest"
)

// A tokenRevoker is trove serve's revoker: the leaked-token path of the
// stack's own token store.
type tokenRevoker struct{ tokens *access.Tokens }

func (r *tokenRevoker) Revoke(ctx context.Context, tok string, at secret.Location) (bool, error) {
	return r.tokens.RevokeLeaked(context.WithoutCancel(ctx), tok, access.Revocation{URL: at.String(), Source: "upload scanner"})
}

// TestPublishWithTokenRejected: an npm publish whose tarball holds the
// publisher's own live token at lib/config.js line 3 is refused (400)
// naming that file and line but not the secret, leaves no release, and
// the token is revoked at once (whoami 401) in a transaction of its own
// that told its owner where it was found; an unknown token's upload is
// refused too, saying it is not live.
func TestPublishWithTokenRejected(t *testing.T) {
	rev := &tokenRevoker{}
	e := newEnvWith(t, servertest.Options{Scanners: []scan.Scanner{secret.New(rev)}}, nil)
	rev.tokens = e.Tokens
	var mu sync.Mutex
	var events []access.Revoked
	e.Tokens.OnRevoke(func(_ context.Context, _ *meta.Tx, rv access.Revoked) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, rv)
		return nil
	})
	tok := e.userToken("alice")
	do(t, "GET", e.reg+"/-/whoami", tok, nil).want(t, http.StatusOK)

	pkg := pkgJSONOf("leaky", "1.0.0", nil)
	tgz := pkgTgz(t, pkg, "index.js", "module.exports = require('./lib/config')\n",
		"lib/config.js", "// settings\nmodule.exports = {\n  token: '"+tok+"',\n}\n")
	r := do(t, "PUT", e.reg+"/leaky", tok, publishDoc(t, e.reg, pkg, tgz)).want(t, http.StatusBadRequest)
	msg := r.errorText()
	for _, want := range []string{"leaky 1.0.0 was not published", "package/lib/config.js:3", "live Trove API token", "revoked now", tok[:10] + "..."} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(string(r.body), tok[len(access.TokenPrefix):]) {
		t.Errorf("the answer shows the secret: %s", r.body)
	}
	do(t, "GET", e.reg+"/leaky", "", nil, "Accept", corgiAccept).want(t, http.StatusNotFound)
	if rels := e.releases("leaky"); len(rels) != 0 {
		t.Errorf("%d release rows after the rejected publish", len(rels))
	}
	do(t, "GET", e.reg+"/-/whoami", tok, nil).want(t, http.StatusUnauthorized)
	mu.Lock()
	if len(events) != 1 || events[0].Reason != access.RevokedLeaked || events[0].URL != "package/lib/config.js:3" || events[0].Tokens[0].UserID == 0 {
		t.Errorf("revocation events = %+v, want the leaked token's, naming where", events)
	}
	mu.Unlock()

	// A string with a token's form and checksum that no user holds.
	other := e.userToken("bob")
	unknown := access.NewToken()
	pkg = pkgJSONOf("leaky2", "1.0.0", nil)
	tgz = pkgTgz(t, pkg, "README.md", "# leaky2\n\nexport TROVE_TOKEN="+unknown+"\n")
	msg = do(t, "PUT", e.reg+"/leaky2", other, publishDoc(t, e.reg, pkg, tgz)).want(t, http.StatusBadRequest).errorText()
	if !strings.Contains(msg, "package/README.md:3") || !strings.Contains(msg, "not live here") || strings.Contains(msg, unknown) {
		t.Errorf("error for an unknown token = %q", msg)
	}
	do(t, "GET", e.reg+"/-/whoami", other, nil).want(t, http.StatusOK)

	// A near miss publishes.
	wrong := unknown[:len(unknown)-1] + "0"
	if strings.HasSuffix(unknown, "0") {
		wrong = unknown[:len(unknown)-1] + "1"
	}
	e.publish(other, pkgJSONOf("fine", "1.0.0", nil), "README.md", "Set TROVE_TOKEN=trove_… (a token starts with trove_)\n"+wrong+"\n")
}
