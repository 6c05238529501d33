//go:build e2e

package e2e

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNPMLoginBreachedPassword: with a breached-password range API
// configured, the real npm client's login with a password the corpus holds
// is refused a token, saying why and what to do, and an older token of
// the account cannot publish until the password changes.
func TestNPMLoginBreachedPassword(t *testing.T) {
	sum := sha1.Sum([]byte(Password))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	asked := make(chan string, 16)
	corpus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- r.URL.Path:
		default:
		}
		if r.URL.Path == "/range/"+h[:5] {
			fmt.Fprintf(w, "%s:9\r\n", h[5:])
		}
		fmt.Fprintf(w, "%s:0\r\n", strings.Repeat("0", 35))
	}))
	defer corpus.Close()
	tr := startTrove(t, "TROVE_ACCOUNTS_BREACHED_PASSWORDS_URL="+corpus.URL)
	tr.AddUser(t, "alice") // through the command line, which the server's environment does not reach
	tok := tr.Token(t, "alice", "*", "publish")

	npm := newNPM(t, tr, "")
	out, err := interactive(t, npm, [][2]string{{"Username:", "alice"}, {"Password:", Password}}, "login", "--auth-type=legacy")
	if err == nil {
		t.Fatalf("npm login with a breached password got a token:\n%s", out)
	}
	wantOutput(t, "npm login with a breached password", out, "403", "must change their password", "known data breaches")
	if p := <-asked; p != "/range/"+h[:5] {
		t.Errorf("the range API was asked %q, want only the 5-character prefix", p)
	}
	if !tr.Logged("sign-in with a breached password") {
		t.Errorf("the server did not log the breached sign-in:\n%s", tr.Log())
	}

	npm.setToken(tok)
	dir := writePackage(t, map[string]string{"package.json": `{"name":"breached-demo","version":"1.0.0","license":"MIT"}` + "\n", "index.js": "module.exports = 1\n"})
	wantOutput(t, "publishing with an older token", npm.mustFail(dir, "publish"), "403", "must change their password")
}
