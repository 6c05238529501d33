package npm

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/server/servertest"
)

// breaches is a corpus holding only the test password.
type breaches map[string]int

func (b breaches) Seen(_ context.Context, pw string) (int, error) { return b[pw], nil }

// TestLoginBreachedPassword: npm login with a password that appears in
// known breaches signs in but gets no token, and says why and what to do;
// a token from before cannot publish until the password is changed.
func TestLoginBreachedPassword(t *testing.T) {
	e := newEnv(t, nil)
	u := e.User(t, "alice", false)
	old := e.Token(t, u, nil)
	e.Users.SetBreaches(breaches{servertest.Password: 12})
	body := map[string]any{"_id": "org.couchdb.user:alice", "name": "alice", "password": servertest.Password, "type": "user"}
	r := do(t, "PUT", e.reg+"/-/user/org.couchdb.user:alice", "", body).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "must change their password (it appears in known data breaches") {
		t.Errorf("login with a breached password: %q", r.errorText())
	}
	pj := pkgJSONOf("demo", "1.0.0", nil)
	r = do(t, "PUT", e.reg+"/demo", old, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "before creating tokens or publishing") {
		t.Errorf("publishing with an older token: %q", r.errorText())
	}
}
