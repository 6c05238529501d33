package npm

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

func TestLoginWeb(t *testing.T) {
	e := newEnv(t, nil)
	e.User(t, "alice", false)
	// Without open registration, npm adduser signs in like npm login.
	do(t, "POST", e.reg+"/-/v1/login", "", map[string]any{"create": true}).want(t, 200)
	do(t, "POST", e.reg+"/-/v1/login", "", `{"create":`).want(t, http.StatusBadRequest)
	start := do(t, "POST", e.reg+"/-/v1/login", "", map[string]any{}).want(t, 200).json(t)
	loginURL, doneURL := start["loginUrl"].(string), start["doneUrl"].(string)
	if !strings.HasPrefix(loginURL, e.reg+"/-/v1/login/") || !strings.HasPrefix(doneURL, e.reg+"/-/v1/done?sessionId=") {
		t.Fatalf("login start = %v", start)
	}
	// Pending: 202, Retry-After and a JSON body (npm parses it first).
	r := do(t, "GET", doneURL, "", nil).want(t, http.StatusAccepted)
	if r.header.Get("Retry-After") != "1" || strings.TrimSpace(string(r.body)) != "{}" {
		t.Errorf("pending poll: Retry-After %q, body %q", r.header.Get("Retry-After"), r.body)
	}
	// The login link sends the person to the web sign-in (internal/web
	// tests it), which completes the login with Logins.Complete.
	page := do(t, "GET", loginURL, "", nil).want(t, http.StatusSeeOther)
	id := strings.TrimPrefix(loginURL, e.reg+"/-/v1/login/")
	if loc := page.header.Get("Location"); loc != "/-/npm-login/"+id {
		t.Errorf("login link redirects to %q", loc)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
		if page.header.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, page.header.Get(h), want)
		}
	}
	do(t, "POST", loginURL, "", "name=alice").want(t, http.StatusMethodNotAllowed)
	do(t, "GET", doneURL, "", nil).want(t, http.StatusAccepted)
	alice, err := e.Users.ByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Logins.Complete(context.Background(), id, alice, trove.AuthPassword); err != nil {
		t.Fatal(err)
	}
	tok := do(t, "GET", doneURL, "", nil).want(t, 200).json(t)["token"].(string)
	if got := do(t, "GET", e.reg+"/-/whoami", tok, nil).want(t, 200).json(t)["username"]; got != "alice" {
		t.Errorf("whoami with the login token = %v", got)
	}
	do(t, "GET", doneURL, "", nil).want(t, http.StatusNotFound)
	// The session is used up.
	if r := do(t, "GET", loginURL, "", nil); r.status != http.StatusNotFound || !strings.Contains(string(r.body), "npm login again") || strings.Contains(string(r.body), "<form") {
		t.Errorf("used login page: %d %s", r.status, r.body)
	}
	do(t, "GET", e.reg+"/-/v1/login/"+strings.Repeat("0", 64), "", nil).want(t, http.StatusNotFound)
	do(t, "GET", e.reg+"/-/v1/done?sessionId=nope!", "", nil).want(t, http.StatusNotFound)
	do(t, "GET", e.reg+"/-/v1/done", "", nil).want(t, http.StatusNotFound)
}

func TestLoginCouch(t *testing.T) {
	e := newEnv(t, nil)
	e.User(t, "alice", false)
	login := func(name string, body map[string]any) response {
		return do(t, "PUT", e.reg+"/-/user/org.couchdb.user:"+url.PathEscape(name), "", body)
	}
	body := func(name, password string) map[string]any {
		return map[string]any{"_id": "org.couchdb.user:" + name, "name": name, "password": password, "type": "user", "roles": []any{}, "date": "2026-11-22T00:00:00.000Z"}
	}
	r := login("alice", body("alice", servertest.Password)).want(t, http.StatusCreated).json(t)
	if r["ok"] != true || r["id"] != "org.couchdb.user:alice" {
		t.Errorf("login = %v", r)
	}
	tok := r["token"].(string)
	p, err := e.Tokens.Authenticate(ctx, tok)
	if err != nil || p.UserName != "alice" || !p.Allows(access.Publish, "npm", "anything") {
		t.Fatalf("login token: %+v, %v", p, err)
	}
	toks, _ := e.Tokens.List(ctx, p.UserID)
	if len(toks) != 1 || toks[0].Description != "npm login" || toks[0].ExpiresAt.IsZero() {
		t.Errorf("login token row: %+v", toks[0])
	}
	// Wrong password and unknown user: the same answer, which says how to get an account.
	wrong := login("alice", body("alice", "not the password")).want(t, http.StatusUnauthorized)
	unknown := login("nobody", body("nobody", "not the password")).want(t, http.StatusUnauthorized)
	if wrong.errorText() != unknown.errorText() || !strings.Contains(wrong.errorText(), "wrong user name or password") ||
		!strings.Contains(wrong.errorText(), "trove admin user add") {
		t.Errorf("wrong password: %q; unknown user: %q", wrong.errorText(), unknown.errorText())
	}
	if wrong.header.Get("WWW-Authenticate") != "" {
		t.Errorf("a 401 carried WWW-Authenticate")
	}
	withEmail := body("newbie", "a long enough passphrase")
	withEmail["email"] = "newbie@example.test"
	login("newbie", withEmail).want(t, http.StatusUnauthorized)
	login("alice", body("bob", servertest.Password)).want(t, http.StatusBadRequest)
	login("alice", map[string]any{"name": "alice"}).want(t, http.StatusBadRequest)
	do(t, "PUT", e.reg+"/-/user/org.couchdb.user:alice", "", "not json").want(t, http.StatusBadRequest)

	// Password guessing is cut off: after account.MaxFailures failures
	// (one so far), even the right password gets 429 until the window ends.
	for range account.MaxFailures - 1 {
		login("alice", body("alice", "guess")).want(t, http.StatusUnauthorized)
	}
	if r := login("alice", body("alice", servertest.Password)).want(t, http.StatusTooManyRequests); !strings.Contains(r.errorText(), "too many failed sign-ins") {
		t.Errorf("throttled login: %q", r.errorText())
	}
}

func TestLoginCouchOpenRegistration(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.OpenRegistration = true })
	e.User(t, "alice", false)
	adduser := func(name, email, password string) response {
		return do(t, "PUT", e.reg+"/-/user/org.couchdb.user:"+name, "", map[string]any{"name": name, "password": password, "email": email})
	}
	// npm adduser tries the browser first; a 4xx makes it ask for an email.
	do(t, "POST", e.reg+"/-/v1/login", "", map[string]any{"create": true}).want(t, http.StatusMethodNotAllowed)
	do(t, "POST", e.reg+"/-/v1/login", "", map[string]any{}).want(t, http.StatusOK)
	tok := adduser("newbie", "newbie@example.test", "a long enough passphrase").want(t, http.StatusCreated).json(t)["token"].(string)
	if got := do(t, "GET", e.reg+"/-/whoami", tok, nil).json(t)["username"]; got != "newbie" {
		t.Errorf("whoami after adduser = %v", got)
	}
	adduser("newbie", "newbie@example.test", "a long enough passphrase").want(t, http.StatusCreated) // a login now
	if r := adduser("weak", "weak@example.test", "short").want(t, http.StatusBadRequest); !strings.Contains(r.errorText(), "password too weak") {
		t.Errorf("weak password: %q", r.errorText())
	}
	if r := adduser("noemail", "", "a long enough passphrase").want(t, http.StatusBadRequest); !strings.Contains(r.errorText(), "npm adduser") {
		t.Errorf("no email: %q", r.errorText())
	}
	if r := adduser("alice", "alice@example.test", "someone else's guess").want(t, http.StatusUnauthorized); r.errorText() != "wrong user name or password" {
		t.Errorf("existing user, wrong password: %q", r.errorText())
	}
	adduser("Bad Name", "x@example.test", "a long enough passphrase").want(t, http.StatusBadRequest)
}

func TestWhoamiAndTokens(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	do(t, "GET", e.reg+"/-/whoami", "", nil).want(t, http.StatusUnauthorized)
	do(t, "GET", e.reg+"/-/whoami", "trove_bogus", nil).want(t, http.StatusUnauthorized)
	if got := do(t, "GET", e.reg+"/-/whoami", tok, nil).want(t, 200).json(t)["username"]; got != "alice" {
		t.Errorf("whoami = %v", got)
	}

	// npm token create (npm 11's granular body, then the classic one).
	created := do(t, "POST", e.reg+"/-/npm/v1/tokens", tok, map[string]any{"name": "ci", "password": servertest.Password,
		"scopes": []string{"@acme"}, "packages": []string{"left-pad"}, "expires": 30}).want(t, 200).json(t)
	ci := created["token"].(string)
	p, err := e.Tokens.Authenticate(ctx, ci)
	if err != nil || !p.Allows(access.Publish, "npm", "@acme/x") || !p.Allows(access.Publish, "npm", "left-pad") || p.Allows(access.Publish, "npm", "other") {
		t.Fatalf("created token: %+v, %v", p, err)
	}
	if exp, err := time.Parse(time.RFC3339, created["expires"].(string)); err != nil || time.Until(exp) < 29*24*time.Hour || time.Until(exp) > 30*24*time.Hour {
		t.Errorf("token created with expires 30 expires at %v (%v)", created["expires"], err)
	}
	ro := do(t, "POST", e.reg+"/-/npm/v1/tokens", tok, map[string]any{"password": servertest.Password, "readonly": true, "cidr_whitelist": nil}).want(t, 200).json(t)
	if ro["readonly"] != true {
		t.Errorf("read-only token: %v", ro)
	}
	// Without expires, the registry's default lifetime: tokens expire by default.
	if exp, err := time.Parse(time.RFC3339, ro["expires"].(string)); err != nil || time.Until(exp) < 89*24*time.Hour || time.Until(exp) > 90*24*time.Hour {
		t.Errorf("token created without expires expires at %v (%v), want in 90 days", ro["expires"], err)
	}
	if p, _ := e.Tokens.Authenticate(ctx, ro["token"].(string)); p.Allows(access.Publish, "npm", "x") || !p.Allows(access.Read, "npm", "x") {
		t.Errorf("read-only token may publish: %+v", p)
	}
	// npm token create --cidr: the token works from those addresses only
	// (this test's client is 127.0.0.1).
	far := do(t, "POST", e.reg+"/-/npm/v1/tokens", tok, map[string]any{"password": servertest.Password, "cidr_whitelist": []string{"192.0.2.0/24"}}).want(t, 200).json(t)
	if fmt.Sprint(far["cidr_whitelist"]) != "[192.0.2.0/24]" {
		t.Errorf("token created with a CIDR: cidr_whitelist = %v", far["cidr_whitelist"])
	}
	if r := do(t, "GET", e.reg+"/-/whoami", far["token"].(string), nil); r.status != http.StatusForbidden || !strings.Contains(r.errorText(), "only be used from 192.0.2.0/24") {
		t.Errorf("whoami with a token limited to 192.0.2.0/24 from 127.0.0.1 = %d %s, want 403 naming the rule", r.status, r.body)
	}
	near := do(t, "POST", e.reg+"/-/npm/v1/tokens", tok, map[string]any{"password": servertest.Password, "cidr_whitelist": []string{"127.0.0.0/8"}}).want(t, 200).json(t)
	do(t, "GET", e.reg+"/-/whoami", near["token"].(string), nil).want(t, 200)
	do(t, "DELETE", e.reg+"/-/npm/v1/tokens/token/"+far["key"].(string), tok, nil).want(t, 200)
	do(t, "DELETE", e.reg+"/-/npm/v1/tokens/token/"+near["key"].(string), tok, nil).want(t, 200)
	for _, tc := range []struct {
		body   map[string]any
		status int
		want   string
	}{
		{map[string]any{"password": "wrong"}, 401, "wrong user name or password"},
		{map[string]any{}, 400, "needs your password"},
		{map[string]any{"password": servertest.Password, "cidr_whitelist": []string{"10.0.0.0/33", "nowhere"}}, 400, `"10.0.0.0/33", "nowhere": not an address or CIDR prefix`},
		{map[string]any{"password": servertest.Password, "orgs": []string{"acme"}}, 400, "not supported"},
		{map[string]any{"password": servertest.Password, "expires": 0}, 400, "at least 1"},
		{map[string]any{"password": servertest.Password, "expires": 366}, 400, "at most 365 days"},
		{map[string]any{"password": servertest.Password, "packages": []string{"Bad"}}, 400, "packages"},
		{map[string]any{"password": servertest.Password, "packages_and_scopes_permission": "all"}, 400, "unknown permission"},
		{map[string]any{"password": servertest.Password, "readonly": "yes"}, 400, "must be a boolean"},
	} {
		r := do(t, "POST", e.reg+"/-/npm/v1/tokens", tok, tc.body)
		if r.status != tc.status || !strings.Contains(r.errorText(), tc.want) {
			t.Errorf("token create %v = %d %s, want %d containing %q", tc.body, r.status, r.body, tc.status, tc.want)
		}
	}
	do(t, "POST", e.reg+"/-/npm/v1/tokens", "", map[string]any{"password": servertest.Password}).want(t, http.StatusUnauthorized)

	// npm token list: urls.next must exist; secrets never appear.
	list := do(t, "GET", e.reg+"/-/npm/v1/tokens", tok, nil).want(t, 200)
	if strings.Contains(string(list.body), ci[len(access.TokenPrefix):]) || strings.Contains(string(list.body), tok[len(access.TokenPrefix):]) {
		t.Fatalf("token list shows a secret: %s", list.body)
	}
	m := list.json(t)
	if urls, ok := m["urls"].(map[string]any); !ok || urls["next"] != nil {
		t.Errorf("urls = %v", m["urls"])
	}
	objects := m["objects"].([]any)
	if len(objects) != 3 {
		t.Fatalf("%d tokens listed, want 3", len(objects))
	}
	var ciKey string
	for _, o := range objects {
		o := o.(map[string]any)
		if o["token"] != access.TokenPrefix || o["key"] == "" || o["created"] == nil || o["cidr_whitelist"] != nil {
			t.Errorf("token object: %v", o)
		}
		if o["name"] == "ci" {
			ciKey = o["key"].(string)
		}
	}
	// npm token revoke KEY.
	do(t, "DELETE", e.reg+"/-/npm/v1/tokens/token/"+ciKey, tok, nil).want(t, 200)
	if _, err := e.Tokens.Authenticate(ctx, ci); err == nil {
		t.Errorf("revoked token still works")
	}
	if n := len(do(t, "GET", e.reg+"/-/npm/v1/tokens", tok, nil).json(t)["objects"].([]any)); n != 2 {
		t.Errorf("%d tokens after revoking one, want 2", n)
	}
	do(t, "DELETE", e.reg+"/-/npm/v1/tokens/token/"+ciKey+"00", tok, nil).want(t, http.StatusNotFound)
	// Another user's token cannot be revoked.
	bob := e.userToken("bob")
	bobKey := do(t, "GET", e.reg+"/-/npm/v1/tokens", bob, nil).json(t)["objects"].([]any)[0].(map[string]any)["key"].(string)
	do(t, "DELETE", e.reg+"/-/npm/v1/tokens/token/"+bobKey, tok, nil).want(t, http.StatusNotFound)
	do(t, "GET", e.reg+"/-/whoami", bob, nil).want(t, 200)
	do(t, "GET", e.reg+"/-/npm/v1/tokens", "", nil).want(t, http.StatusUnauthorized)
}

func TestLogout(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	other := e.userToken("bob")
	// Someone else's token is not yours to revoke.
	do(t, "DELETE", e.reg+"/-/user/token/"+url.PathEscape(other), tok, nil).want(t, http.StatusNotFound)
	do(t, "GET", e.reg+"/-/whoami", other, nil).want(t, 200)
	do(t, "DELETE", e.reg+"/-/user/token/"+url.PathEscape(tok), "", nil).want(t, http.StatusUnauthorized)
	// npm logout sends the token it revokes as its credentials.
	do(t, "DELETE", e.reg+"/-/user/token/"+url.PathEscape(tok), tok, nil).want(t, 200)
	do(t, "GET", e.reg+"/-/whoami", tok, nil).want(t, http.StatusUnauthorized)
}

// TestTokenInURLNotEchoed: npm logout puts a token in the URL; no error
// answer about that URL repeats it.
func TestTokenInURLNotEchoed(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	for _, method := range []string{"GET", "PUT", "POST"} {
		r := do(t, method, e.reg+"/-/user/token/"+url.PathEscape(tok), tok, nil)
		if r.status < 400 || strings.Contains(string(r.body), tok[len(access.TokenPrefix):]) {
			t.Errorf("%s /-/user/token/<token> = %d %s; want an error that does not repeat the token", method, r.status, r.body)
		}
	}
}
