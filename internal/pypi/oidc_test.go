package pypi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
	"github.com/trove-dev/trove/internal/trust/trusttest"
)

// TestOIDCExchange: PyPI's exchange as twine and the publishing action
// call it — the audience, a minted token for a pending publisher's
// project, and the 422 {"message", "errors": [{code, description}]} they
// print for every refusal; with trusted publishing off, 403 {"message"}.
func TestOIDCExchange(t *testing.T) {
	env := servertest.New(t, servertest.Options{Rules: []registry.Rules{Rules{}}})
	github := trusttest.New(t)
	const host = "trove.test"
	tp := trust.New(trust.Options{DB: env.DB, Registry: env.Registry, Tokens: env.Tokens, Audience: host, Host: host, Leeway: time.Minute,
		Issuers: []trust.Issuer{{Name: "github", Kind: trust.GitHub, URL: github.URL}}})
	off := trust.New(trust.Options{DB: env.DB, Registry: env.Registry, Tokens: env.Tokens, Audience: host, Host: host})
	env.Start(t, func(base string) []server.Mount {
		return []server.Mount{{Prefix: "/_/oidc", Ecosystem: "pypi", Adapter: NewOIDC(tp)}, {Prefix: "/off/_/oidc", Ecosystem: "pypi", Adapter: NewOIDC(off)}}
	})
	alice := env.User(t, "alice", false)
	spec := trust.Spec{Issuer: "github", Repository: "acme/demo", RepositoryOwnerID: "4242", Workflow: "release.yml", Environment: "release"}
	ctx := t.Context()
	if _, err := tp.Add(ctx, servertest.Principal(alice), trove.PyPI, "Acme_Demo", spec); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, env.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, req)
		var v map[string]any
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			t.Fatalf("%s %s: %s is not JSON: %v", method, path, r.body, err)
		}
		return r.StatusCode, v
	}
	if code, v := call("GET", "/_/oidc/audience", ""); code != http.StatusOK || v["audience"] != host {
		t.Errorf("audience = %d %v, want 200 {audience: %s}", code, v, host)
	}
	idToken := github.Token(t, host, trusttest.GitHub(nil))
	code, v := call("POST", "/_/oidc/mint-token", `{"token": "`+idToken+`"}`)
	tok, _ := v["token"].(string)
	exp, _ := v["expires"].(float64)
	if code != http.StatusOK || v["success"] != true || !strings.HasPrefix(tok, "trove_") || time.Until(time.Unix(int64(exp), 0)) > 15*time.Minute {
		t.Fatalf("mint-token = %d %v, want 200 with a trove_ token expiring within 15 minutes", code, v)
	}
	p, err := env.Tokens.Authenticate(ctx, tok)
	if err != nil || p.UserName != "alice" || p.PublisherID == 0 || len(p.Packages) != 1 || p.Packages[0] != "pypi:acme-demo" {
		t.Errorf("the minted token = %+v, %v; want alice's, minted, for pypi:acme-demo only", p, err)
	}
	for _, tc := range []struct {
		name, body, code string
	}{
		{"the same ID token again", `{"token": "` + idToken + `"}`, "invalid-reuse-token"},
		{"another audience", `{"token": "` + github.Token(t, "pypi", trusttest.GitHub(nil)) + `"}`, "invalid-token"},
		{"another repository", `{"token": "` + github.Token(t, host, trusttest.GitHub(trusttest.Claims{"repository": "mallory/demo"})) + `"}`, "invalid-publisher"},
		{"no token", `{}`, "invalid-payload"},
		{"not JSON", `token=x`, "invalid-payload"},
	} {
		code, v := call("POST", "/_/oidc/mint-token", tc.body)
		errs, _ := v["errors"].([]any)
		var first map[string]any
		if len(errs) == 1 {
			first, _ = errs[0].(map[string]any)
		}
		if code != http.StatusUnprocessableEntity || v["message"] != "Token request failed" || first["code"] != tc.code || first["description"] == "" {
			t.Errorf("%s: %d %v, want 422 with the error code %s and a description", tc.name, code, v, tc.code)
		}
	}
	if code, v := call("GET", "/off/_/oidc/audience", ""); code != http.StatusForbidden || !strings.Contains(v["message"].(string), "not enabled") {
		t.Errorf("audience with trusted publishing off = %d %v, want 403 with a message", code, v)
	}
}
