package npm

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
	"github.com/trove-dev/trove/internal/trust/trusttest"
)

// oidcEnv is an npm stack with trusted publishing: a GitHub issuer run in
// the test, the exchange at /-/npm/v1/oidc as trove serve mounts it.
type oidcEnv struct {
	*env
	trust  *trust.Service
	github *trusttest.Issuer
	alice  *trove.User
}

const oidcHost = "trove.test"

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	e := &env{Env: servertest.New(t, servertest.Options{Rules: []registry.Rules{Rules{}}}), t: t}
	o := &oidcEnv{env: e, github: trusttest.New(t)}
	o.trust = trust.New(trust.Options{DB: e.DB, Registry: e.Registry, Tokens: e.Tokens, Audience: oidcHost, Host: oidcHost, Leeway: time.Minute,
		Issuers: []trust.Issuer{{Name: "github", Kind: trust.GitHub, URL: o.github.URL}}})
	e.Start(t, func(base string) []server.Mount {
		e.opts = Options{Registry: e.Registry, Pages: e.Pages, Tokens: e.Tokens, Users: e.Users, Logins: e.Logins,
			BaseURL: base + "/npm", MaxPublishBytes: 4 << 20}
		e.h = New(e.opts)
		return []server.Mount{{Prefix: "/npm", Ecosystem: "npm", Adapter: e.h}, {Prefix: "/-/npm/v1/oidc", Ecosystem: "npm", Adapter: NewOIDC(o.trust)}}
	})
	e.reg = e.URL + "/npm"
	o.alice = e.User(t, "alice", false)
	return o
}

var releaseSpec = trust.Spec{Issuer: "github", Repository: "acme/demo", RepositoryOwnerID: "4242", Workflow: "release.yml", Environment: "release"}

// exchange posts an ID token of acme/demo's release workflow to npm's
// exchange for name, as npm does.
func (o *oidcEnv) exchange(name, idToken string) response {
	o.t.Helper()
	return do(o.t, "POST", o.URL+"/-/npm/v1/oidc/token/exchange/package/"+escapeName(trove.Name(name)), idToken, nil)
}

func (o *oidcEnv) idToken() string {
	o.t.Helper()
	return o.github.Token(o.t, "npm:"+oidcHost, trusttest.GitHub(nil))
}

// TestPendingPublisherFirstPublish: a pending publisher's minted token
// creates the package through an npm upload; the user who configured the
// publisher owns it, the publisher is the package's, and the token
// publishes nothing else and changes no tag or owner. The ID token is
// exchanged once.
func TestPendingPublisherFirstPublish(t *testing.T) {
	o := newOIDCEnv(t)
	p, err := o.trust.Add(ctx, servertest.Principal(o.alice), trove.NPM, "@acme/demo", releaseSpec)
	if err != nil || !p.Pending {
		t.Fatalf("Add = %+v, %v; want a pending publisher", p, err)
	}
	idTok := o.idToken()
	minted, _ := o.exchange("@acme/demo", idTok).want(t, http.StatusOK).json(t)["token"].(string)
	if !strings.HasPrefix(minted, "trove_") {
		t.Fatalf("exchange gave token %q", minted)
	}
	o.publish(minted, pkgJSONOf("@acme/demo", "1.0.0", nil))

	pkg, err := o.DB.Package(ctx, trove.NPM, "@acme/demo")
	if err != nil {
		t.Fatal(err)
	}
	owners, err := o.DB.Owners(ctx, pkg.ID)
	if err != nil || len(owners) != 1 || owners[0].ID != o.alice.ID {
		t.Errorf("owners of the package created through the publisher = %v, %v; want alice", owners, err)
	}
	ps, err := o.trust.List(ctx, servertest.Principal(o.alice), trove.NPM, "@acme/demo")
	if err != nil || len(ps) != 1 || ps[0].ID != p.ID || ps[0].Pending {
		t.Errorf("publishers after the first publish = %+v, %v; want publisher %d, no longer pending", ps, err, p.ID)
	}
	who, err := o.Tokens.Authenticate(ctx, minted)
	if err != nil || who.PublisherID != p.ID || who.UserID != o.alice.ID {
		t.Errorf("minted token = %+v, %v; want alice's, from publisher %d", who, err, p.ID)
	}

	// One package, publish only.
	tgz := pkgTgz(t, pkgJSONOf("other", "1.0.0", nil))
	if r := do(t, "PUT", o.reg+"/other", minted, publishDoc(t, o.reg, pkgJSONOf("other", "1.0.0", nil), tgz)); r.status != http.StatusForbidden {
		t.Errorf("publishing another package with the minted token = %d %s, want 403", r.status, r)
	}
	if r := do(t, "PUT", o.reg+"/-/package/@acme%2fdemo/dist-tags/beta", minted, `"1.0.0"`); r.status != http.StatusForbidden {
		t.Errorf("tagging with the minted token = %d %s, want 403", r.status, r)
	}
	o.User(t, "bob", false)
	if err := o.Registry.AddOwner(ctx, who, trove.NPM, "@acme/demo", "bob"); !errors.Is(err, access.ErrDenied) || !strings.Contains(err.Error(), "only uploads releases") {
		t.Errorf("adding an owner with the minted token = %v, want a refusal", err)
	}
	// Replayed: refused, and nothing minted.
	n, err := o.DB.TokensOfUser(ctx, o.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := o.exchange("@acme/demo", idTok)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.errorText(), "exchanged already") {
		t.Errorf("replayed ID token = %d %s, want 401 exchanged already", r.status, r)
	}
	if m, _ := o.DB.TokensOfUser(ctx, o.alice.ID); len(m) != len(n) {
		t.Errorf("a replayed exchange minted a token: %d tokens, had %d", len(m), len(n))
	}
}

// TestTrustedOnlyAtPublish: with the switch on, an owner's long-lived
// token is refused for an upload, with the message saying why and how to
// turn it off, and nothing is published; a minted token publishes; the
// owners' tokens still tag; a minted token cannot turn the switch off.
func TestTrustedOnlyAtPublish(t *testing.T) {
	o := newOIDCEnv(t)
	long := o.Token(t, o.alice, nil)
	o.publish(long, pkgJSONOf("demo", "1.0.0", nil))
	if _, err := o.trust.Add(ctx, servertest.Principal(o.alice), trove.NPM, "demo", releaseSpec); err != nil {
		t.Fatal(err)
	}
	alice := servertest.Principal(o.alice)
	if err := o.Registry.SetTrustedOnly(ctx, alice, trove.NPM, "demo", true); err != nil {
		t.Fatal(err)
	}

	manifest := pkgJSONOf("demo", "1.0.1", nil)
	doc := publishDoc(t, o.reg, manifest, pkgTgz(t, manifest))
	r := do(t, "PUT", o.reg+"/demo", long, doc)
	if r.status != http.StatusForbidden || !strings.Contains(r.errorText(), "npm:demo takes trusted publishing only") ||
		!strings.Contains(r.errorText(), "trove package trusted-only npm demo off") {
		t.Errorf("long-lived token's upload = %d %s, want 403 naming trusted publishing only and how to turn it off", r.status, r)
	}
	if rels := o.releases("demo"); len(rels) != 1 {
		t.Errorf("the refused upload left %d releases, want 1", len(rels))
	}

	minted, _ := o.exchange("demo", o.idToken()).want(t, http.StatusOK).json(t)["token"].(string)
	do(t, "PUT", o.reg+"/demo", minted, doc).want(t, http.StatusOK)
	if rels := o.releases("demo"); len(rels) != 2 {
		t.Errorf("after the minted token's upload: %d releases, want 2", len(rels))
	}
	do(t, "PUT", o.reg+"/-/package/demo/dist-tags/stable", long, `"1.0.0"`).want(t, http.StatusOK)

	who, err := o.Tokens.Authenticate(ctx, minted)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Registry.SetTrustedOnly(ctx, who, trove.NPM, "demo", false); !errors.Is(err, access.ErrDenied) {
		t.Errorf("a minted token turning the switch off = %v, want ErrDenied", err)
	}
	if err := o.Registry.SetTrustedOnly(ctx, alice, trove.NPM, "demo", false); err != nil {
		t.Fatal(err)
	}
	manifest = pkgJSONOf("demo", "1.0.2", nil)
	do(t, "PUT", o.reg+"/demo", long, publishDoc(t, o.reg, manifest, pkgTgz(t, manifest))).want(t, http.StatusOK)
}
