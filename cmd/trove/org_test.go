package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// TestOrgCommand: trove org creates an organisation, invites a user who
// accepts, makes a team; trove owner grants roles and transfers a
// package; the last owner cannot leave; and the refusals say why.
func TestOrgCommand(t *testing.T) {
	e := servertest.New(t, servertest.Options{Rules: []registry.Rules{npm.Rules{}, pypi.Rules{}}, InactiveAfter: 365 * 24 * time.Hour})
	e.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/api", Ecosystem: "api", Adapter: api.New(api.Options{Registry: e.Registry, Tokens: e.Tokens})}}
	})
	alice, bob := e.User(t, "alice", false), e.User(t, "bob", false)
	aliceTok, bobTok := e.Token(t, alice, nil), e.Token(t, bob, nil)
	bobPublish := e.Token(t, bob, nil, access.Read, access.Publish, access.Yank)
	who := &access.Principal{UserID: alice.ID, UserName: "alice", Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	st, err := e.Registry.Stage(strings.NewReader("bytes"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := e.Registry.Publish(context.Background(), who, &registry.Upload{Ecosystem: trove.PyPI, Name: "demo", Version: "1.0.0", Metadata: []byte(`{}`),
		Files: []registry.UploadFile{{Filename: "demo-1.0.0.tar.gz", Kind: "sdist", Content: st}}}); err != nil {
		t.Fatal(err)
	}
	url := "--url=" + e.URL
	run := func(token string, args ...string) (string, string) {
		t.Helper()
		out, stderr, err := runTrove(t, token, append(args, url)...)
		if err != nil {
			t.Fatalf("trove %v: %v", args, err)
		}
		return out, stderr
	}
	if _, stderr := run(aliceTok, "org", "create", "acme"); !strings.Contains(stderr, "created the organisation acme") {
		t.Errorf("org create: %q", stderr)
	}
	run(aliceTok, "org", "invite", "acme", "bob", "--role", "maintainer")
	if out, _ := run(bobTok, "org", "invitations"); out != "acme maintainer (invited by alice)\n" {
		t.Errorf("org invitations = %q", out)
	}
	run(bobTok, "org", "accept", "acme")
	if out, _ := run(bobTok, "org", "list"); out != "acme maintainer\n" {
		t.Errorf("org list = %q", out)
	}
	run(aliceTok, "org", "team", "create", "acme", "core")
	run(aliceTok, "org", "team", "add", "acme", "core", "bob")
	if out, _ := run(bobTok, "org", "show", "acme"); out != "member alice owner\nmember bob maintainer\nteam core: bob\n" {
		t.Errorf("org show = %q", out)
	}
	run(aliceTok, "owner", "transfer", "pypi", "demo", "--org", "acme")
	run(aliceTok, "owner", "grant", "pypi", "demo", "core", "owner", "--team")
	if out, _ := run("", "owner", "access", "pypi", "demo"); out != "org acme\nteam core owner\n" {
		t.Errorf("owner access = %q", out)
	}
	run(aliceTok, "owner", "grant", "pypi", "demo", "core", "none", "--team")
	run(aliceTok, "owner", "grant", "pypi", "demo", "bob", "reader")
	if out, _ := run("", "owner", "access", "pypi", "demo"); out != "org acme\nuser bob reader\n" {
		t.Errorf("owner access after grants = %q", out)
	}

	// The owners review the people: alice owns acme and so the package.
	wantReview := regexp.MustCompile(`^USER +ROLE +VIA +LAST ACTIVE +\n` +
		`alice +owner +org acme +\d{4}-\d\d-\d\d +\n` +
		`bob +maintainer +org acme +\d{4}-\d\d-\d\d +\n` +
		`bob +reader +package +\d{4}-\d\d-\d\d +\n$`)
	if out, stderr := run(aliceTok, "owner", "review", "pypi", "demo"); !wantReview.MatchString(out) || !strings.Contains(stderr, "no sign-in, token use or release for 365 days") {
		t.Errorf("owner review = %q, %q", out, stderr)
	}
	if out, _ := run(aliceTok, "org", "review", "acme"); !strings.Contains(out, "bob    maintainer  org acme") || strings.Contains(out, "package") {
		t.Errorf("org review = %q", out)
	}
	for _, tc := range []struct {
		token string
		args  []string
		want  string
	}{
		{bobTok, []string{"owner", "review", "pypi", "demo"}, "403 Forbidden: user bob is not an owner of pypi demo"},
		{bobTok, []string{"org", "review", "acme"}, "403 Forbidden: user bob is a maintainer of the organisation acme: only its owners may review its members"},
		{bobPublish, []string{"org", "review", "acme"}, "403 Forbidden: permission denied: this token cannot review roles"},
		{"", []string{"org", "create", "other"}, "no API token"},
		{bobPublish, []string{"org", "create", "other"}, "403 Forbidden: permission denied: this token cannot manage organisations (it lacks the owners action)"},
		{aliceTok, []string{"org", "create", "bob"}, "409 Conflict: the name bob is taken"},
		{aliceTok, []string{"org", "create", "Not A Name"}, "400 Bad Request"},
		{bobTok, []string{"org", "invite", "acme", "alice", "--role", "owner"}, "403 Forbidden: user bob is a maintainer of the organisation acme: only its owners may change it"},
		{aliceTok, []string{"org", "invite", "acme", "carol"}, "404 Not Found: no user carol"},
		{aliceTok, []string{"org", "invite", "acme", "bob", "--role", "boss"}, "400 Bad Request: unknown role"},
		{aliceTok, []string{"org", "remove", "acme", "alice"}, "400 Bad Request: alice is the only owner of the organisation acme"},
		{bobTok, []string{"org", "show", "nope"}, "404 Not Found"},
		{bobTok, []string{"owner", "grant", "pypi", "demo", "bob", "owner"}, "403 Forbidden"},
		{bobPublish, []string{"owner", "add", "pypi", "demo", "bob"}, "needs the owners action"},
		{bobTok, []string{"owner", "transfer", "pypi", "demo", "--user", "bob"}, "403 Forbidden"},
	} {
		_, _, err := runTrove(t, tc.token, append(tc.args, url)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("trove %v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	// A member leaves.
	run(bobTok, "org", "remove", "acme", "bob")
	if out, _ := run(bobTok, "org", "list"); out != "" {
		t.Errorf("org list after leaving = %q", out)
	}
}
