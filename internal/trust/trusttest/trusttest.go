// Package trusttest runs a real OIDC issuer in the test process: discovery
// and keys served over HTTP (go-oidc's oidctest server), and ID tokens
// signed with its key, for tests of the production verifier.
package trusttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

// An Issuer is an OIDC issuer serving on a local address.
type Issuer struct {
	URL string
	mu  sync.Mutex // guards key, kid and the server's key set
	key *ecdsa.PrivateKey
	kid string
	// Discoveries counts the requests for the discovery document, Keys
	// those for the key set.
	Discoveries, Keys atomic.Int64
	jti               atomic.Int64
	server            *oidctest.Server
}

// Rotate replaces the issuer's signing key with a new one under a new key
// id, as issuers rotate keys: tokens are signed with the new key, and the
// key set serves the new key only.
func (is *Issuer) Rotate(t testing.TB) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.key, is.kid = key, is.kid+"r"
	is.server.PublicKeys = []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: is.kid, Algorithm: oidc.ES256}}
}

// New starts an issuer, closed when the test ends.
func New(t testing.TB) *Issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &Issuer{key: key, kid: "k1"}
	s := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k1", Algorithm: oidc.ES256}}, Algorithms: []string{oidc.ES256}}
	is.server = s
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/openid-configuration"):
			is.Discoveries.Add(1)
		case r.URL.Path == "/keys":
			is.Keys.Add(1)
		}
		is.mu.Lock()
		defer is.mu.Unlock()
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.SetIssuer(srv.URL)
	is.URL = srv.URL
	return is
}

// Claims are an ID token's claims.
type Claims map[string]any

// Token returns an ID token for the audience with the claims, which
// override the defaults: iss (this issuer), aud, iat and nbf (now), exp
// (in five minutes), a fresh jti. A claim set to nil is left out.
func (is *Issuer) Token(t testing.TB, aud string, claims Claims) string {
	t.Helper()
	now := time.Now()
	c := Claims{"iss": is.URL, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": "jti-" + itoa(is.jti.Add(1)), "sub": "repo:acme/demo:ref:refs/heads/main"}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	return oidctest.SignIDToken(is.key, is.kid, oidc.ES256, string(b))
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// GitHub returns claims of a GitHub Actions job of acme/demo's
// release.yml on main, with the overrides.
func GitHub(over Claims) Claims {
	c := Claims{"repository": "acme/demo", "repository_owner": "acme", "repository_owner_id": "4242",
		"job_workflow_ref": "acme/demo/.github/workflows/release.yml@refs/heads/main", "environment": "release"}
	for k, v := range over {
		c[k] = v
	}
	return c
}
