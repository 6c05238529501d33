//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/trust/trusttest"
)

// Trusted publishing with the real clients: an OIDC issuer runs in the
// test (discovery, keys, signed ID tokens: internal/trust/trusttest), and
// trove serve trusts it as a GitHub Actions issuer. Publishers are
// configured with trove publisher; twine uploads with a token minted by
// PyPI's exchange; npm takes its own OIDC path, reading the ID token from
// a stand-in for GitHub's token service.

// startTrustedTrove runs trove serve trusting github as "github" and,
// if it is not nil, ci as "ci", a generic issuer, with base_url set (the
// audiences name its host, 127.0.0.1).
func startTrustedTrove(t *testing.T, github, ci *trusttest.Issuer) *Trove {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "trove.toml")
	toml := "[[trusted_publishing.issuers]]\nname = \"github\"\nkind = \"github\"\nurl = \"" + github.URL + "\"\n"
	if ci != nil {
		toml += "[[trusted_publishing.issuers]]\nname = \"ci\"\nkind = \"generic\"\nurl = \"" + ci.URL + "\"\n"
	}
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	tr := &Trove{Data: t.TempDir(), log: &syncBuffer{}}
	addr := freeAddr(t, "127.0.0.1")
	tr.URL = "http://" + addr
	tr.launch(t, http.DefaultClient, []string{"--listen", addr}, []string{"TROVE_CONFIG=" + cfg, "TROVE_BASE_URL=" + tr.URL})
	return tr
}

// addPublisher configures a pending publisher of acme/demo's release.yml
// in the environment release with the CLI, as alice (token), and returns
// its id.
func addPublisher(t *testing.T, tr *Trove, token, eco, name string) string {
	t.Helper()
	cmd := []string{"publisher", "add", eco, name, "--issuer", "github", "--repository", "acme/demo", "--owner-id", "4242",
		"--workflow", "release.yml", "--environment", "release", "--url", tr.URL}
	out := must(t, "", []string{"TROVE_TOKEN=" + token}, troveBin, cmd...)
	wantOutput(t, "trove publisher add", out, "(pending: ")
	id := regexp.MustCompile(`(?m)^(\d+)$`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("trove publisher add printed no id:\n%s", out)
	}
	return id[1]
}

// postJSON posts v and returns the status and body.
func postJSON(t *testing.T, url string, v any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// mintedTokenID returns the id (trove token list) of alice's token minted
// by the publisher.
func mintedTokenID(t *testing.T, tr *Trove, publisher string) string {
	t.Helper()
	out := tr.trove(t, "", "token", "list", "--user", "alice")
	m := regexp.MustCompile(`(?m)^([0-9a-f]{16}) .*trusted publisher ` + publisher + ` \(github `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token minted by publisher %s in:\n%s", publisher, out)
	}
	return m[1]
}

// TestTrustedPublishingTwine: the PyPI exchange as the publishing action
// uses it (GET /_/oidc/audience, POST /_/oidc/mint-token), twine uploading
// with the minted token to create the project of a pending publisher, a
// replayed ID token refused, and trusted-only refusing alice's own token.
func TestTrustedPublishingTwine(t *testing.T) {
	issuer := trusttest.New(t)
	tr := startTrustedTrove(t, issuer, nil)
	tr.AddUser(t, "alice")
	aliceTok := tr.Token(t, "alice", "*", "publish,owners")
	pub := addPublisher(t, tr, aliceTok, "pypi", pyLib)

	resp, err := http.Get(tr.URL + "/_/oidc/audience")
	if err != nil {
		t.Fatal(err)
	}
	var aud struct{ Audience string }
	json.NewDecoder(resp.Body).Decode(&aud)
	resp.Body.Close()
	if aud.Audience != "127.0.0.1" {
		t.Fatalf("audience = %q, want the host of base_url", aud.Audience)
	}
	mint := func(idToken string) (int, map[string]any) {
		status, body := postJSON(t, tr.URL+"/_/oidc/mint-token", map[string]string{"token": idToken})
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("mint-token answered %d %s", status, body)
		}
		return status, m
	}
	idToken := issuer.Token(t, aud.Audience, trusttest.GitHub(nil))
	status, m := mint(idToken)
	minted, _ := m["token"].(string)
	if status != http.StatusOK || m["success"] != true || !strings.HasPrefix(minted, "trove_") {
		t.Fatalf("mint-token = %d %v", status, m)
	}

	sdist, wheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "one"))
	if out, err := twine(t, tr, minted, nil, sdist, wheel); err != nil {
		t.Fatalf("twine upload with the minted token: %v\n%s", err, out)
	}
	id := mintedTokenID(t, tr, pub)
	if !tr.Logged(`method=POST path=/legacy/ route=pypi\.upload status=200 .*user=alice token=` + id) {
		t.Errorf("no upload with the minted token %s in the log:\n%s", id, tr.Log())
	}
	wantOutput(t, "trove owner list", must(t, "", nil, troveBin, "owner", "list", "pypi", pyLib, "--url", tr.URL), "alice")
	if out := must(t, "", []string{"TROVE_TOKEN=" + aliceTok}, troveBin, "publisher", "list", "pypi", pyLib, "--url", tr.URL); !regexp.MustCompile(`(?m)^` + pub + ` +github +active +alice `).MatchString(out) {
		t.Errorf("trove publisher list after the first upload: want publisher %s active:\n%s", pub, out)
	}

	// The ID token is exchanged once.
	if status, m := mint(idToken); status != http.StatusUnprocessableEntity || !strings.Contains(string(mustJSON(t, m)), "invalid-reuse-token") {
		t.Errorf("replayed ID token: %d %v, want 422 invalid-reuse-token", status, m)
	}

	// Trusted publishing only: alice's own token no longer uploads.
	wantOutput(t, "trove package trusted-only", must(t, "", []string{"TROVE_TOKEN=" + aliceTok}, troveBin,
		"package", "trusted-only", "pypi", pyLib, "on", "--url", tr.URL), "trusted publishing only")
	sdist2, wheel2 := pyBuild(t, pyProject(t, pyLib, "1.0.1", "two"))
	out, err := twine(t, tr, aliceTok, nil, sdist2, wheel2)
	if err == nil || !strings.Contains(out, "403 Forbidden") || !strings.Contains(out, "takes trusted publishing only") {
		t.Errorf("twine upload with a long-lived token of a trusted-only project: %v\n%s", err, out)
	}
	_, m = mint(issuer.Token(t, aud.Audience, trusttest.GitHub(nil)))
	if out, err := twine(t, tr, m["token"].(string), nil, sdist2, wheel2); err != nil {
		t.Errorf("twine upload of a trusted-only project with a minted token: %v\n%s", err, out)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A githubTokens stands in for GitHub Actions' ID token service
// (ACTIONS_ID_TOKEN_REQUEST_URL): it answers GET ?audience=A, with the
// request token as Bearer credentials, {"value": <ID token for A>}.
type githubTokens struct {
	*httptest.Server
	secret string

	mu        sync.Mutex
	audiences []string
	last      string
	replay    bool // answer the last token again
}

func newGitHubTokens(t *testing.T, issuer *trusttest.Issuer) *githubTokens {
	g := &githubTokens{secret: "request-token-of-the-job"}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+g.secret {
			http.Error(w, `{"message": "bad request token"}`, http.StatusUnauthorized)
			return
		}
		aud := r.URL.Query().Get("audience")
		g.mu.Lock()
		defer g.mu.Unlock()
		g.audiences = append(g.audiences, aud)
		if !g.replay || g.last == "" {
			g.last = issuer.Token(t, aud, trusttest.GitHub(nil))
		}
		json.NewEncoder(w).Encode(map[string]string{"value": g.last})
	}))
	t.Cleanup(g.Close)
	return g
}

// env is what a GitHub Actions job with id-token: write gives npm.
func (g *githubTokens) env() []string {
	return []string{"CI=true", "GITHUB_ACTIONS=true", "ACTIONS_ID_TOKEN_REQUEST_URL=" + g.URL + "/token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + g.secret}
}

// TestTrustedPublishingNPM: npm publish, with no token of its own, in a
// (simulated) GitHub Actions job: npm asks the job's token service for an
// ID token with audience npm:<registry host>, exchanges it at Trove's
// /-/npm/v1/oidc/token/exchange/package/<name>, and publishes with the
// minted token, creating the package of a pending publisher. A replayed
// ID token is refused and npm, left without credentials, publishes
// nothing.
func TestTrustedPublishingNPM(t *testing.T) {
	issuer := trusttest.New(t)
	tr := startTrustedTrove(t, issuer, nil)
	tr.AddUser(t, "alice")
	aliceTok := tr.Token(t, "alice", "*", "publish,owners")
	pub := addPublisher(t, tr, aliceTok, "npm", "@acme/lib")
	gh := newGitHubTokens(t, issuer)
	npm := newNPM(t, tr, "") // no token: only the OIDC path can publish
	run := func(fail bool, dir string, args ...string) string {
		t.Helper()
		env := append(append([]string{}, npmEnv...), gh.env()...)
		if fail {
			return mustFail(t, dir, env, "npm", npm.args(args...)...)
		}
		return must(t, dir, env, "npm", npm.args(args...)...)
	}

	out := run(false, writePackage(t, libFiles("1.0.0")), "publish", "--loglevel", "verbose")
	wantOutput(t, "npm publish", out, "Successfully retrieved and set token", "+ @acme/lib@1.0.0")
	if len(gh.audiences) != 1 || gh.audiences[0] != "npm:127.0.0.1" {
		t.Errorf("npm asked for ID tokens with audiences %q, want [npm:127.0.0.1]", gh.audiences)
	}
	id := mintedTokenID(t, tr, pub)
	if !tr.Logged(`method=PUT path=/@acme/lib route=npm\.publish status=200 .*user=alice token=` + id) {
		t.Errorf("no publish with the minted token %s in the log:\n%s", id, tr.Log())
	}
	// The audit log names the publisher that minted the credential.
	wantOutput(t, "trove admin audit --package", tr.trove(t, "", "admin", "audit", "--package", "npm:@acme/lib", "--action", "npm.publish"),
		fmt.Sprintf("token %s (trusted publisher %s)", id, pub))
	wantOutput(t, "trove owner list", must(t, "", nil, troveBin, "owner", "list", "npm", "@acme/lib", "--url", tr.URL), "alice")
	wantOutput(t, "npm view", npm.must("", "view", "@acme/lib", "version"), "1.0.0")

	// The job's token service answers the same ID token again: the
	// exchange refuses it, npm has no credentials, and nothing is published.
	gh.mu.Lock()
	gh.replay = true
	gh.mu.Unlock()
	out = run(true, writePackage(t, libFiles("1.0.1")), "publish", "--loglevel", "verbose")
	wantOutput(t, "npm publish with a replayed ID token", out, "this ID token was exchanged already", "ENEEDAUTH")
	if strings.Contains(npm.must("", "view", "@acme/lib", "versions", "--json"), "1.0.1") {
		t.Error("1.0.1 was published with a replayed ID token")
	}
}

// TestTrustedPublishingGo: a generic issuer's job publishes a Go module
// with trove publish, with a token from the API's exchange
// (POST /api/v1/oidc/exchange/go/<module>), the way docs/trusted-publishing.md
// shows; a token whose claims differ from the rules is refused.
func TestTrustedPublishingGo(t *testing.T) {
	github, ci := trusttest.New(t), trusttest.New(t)
	tr := startTrustedTrove(t, github, ci)
	tr.AddUser(t, "alice")
	aliceTok := tr.Token(t, "alice", "*", "publish,owners")
	const mod = "example.test/ci/mod"
	must(t, "", []string{"TROVE_TOKEN=" + aliceTok}, troveBin, "publisher", "add", "go", mod, "--issuer", "ci",
		"--claim", "sub=project:acme/mod", "--claim", "pipeline=release", "--url", tr.URL)
	exchange := func(claims trusttest.Claims) (int, map[string]any) {
		t.Helper()
		status, body := postJSON(t, tr.URL+"/api/v1/oidc/exchange/go/"+url.PathEscape(mod), map[string]string{"token": ci.Token(t, "127.0.0.1", claims)})
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("exchange answered %d %s", status, body)
		}
		return status, m
	}
	if status, m := exchange(trusttest.Claims{"sub": "project:acme/mod", "pipeline": "nightly"}); status != http.StatusUnauthorized ||
		!strings.Contains(fmt.Sprint(m["error"]), "no trusted publisher of go:"+mod+" matches") {
		t.Errorf("exchange of a token of another pipeline = %d %v, want 401 no trusted publisher", status, m)
	}
	status, m := exchange(trusttest.Claims{"sub": "project:acme/mod", "pipeline": "release"})
	minted, _ := m["token"].(string)
	if status != http.StatusOK || !strings.HasPrefix(minted, "trove_") || m["package"] != "go:"+mod {
		t.Fatalf("exchange = %d %v", status, m)
	}
	publishGo(t, tr, minted, goModule(t, mod, "published by CI"), mod)
	wantOutput(t, "trove owner list", must(t, "", nil, troveBin, "owner", "list", "go", mod, "--url", tr.URL), "alice")
	if status, body := getBody(t, tr.URL+"/go/"+mod+"/@v/list"); status != http.StatusOK || !strings.Contains(body, "v1.0.0") {
		t.Errorf("@v/list after the publish = %d %q", status, body)
	}
}
