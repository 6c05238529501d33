package api

import (
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/v1/whoami", "/v1/packages/npm/@a%2Fb/1.0.0/yank", "/v1/packages/go/example.com%2Fm/owners/bob",
		"/v1/orgs/acme/teams/core/members/bob", "/v1/packages/npm/demo/access/teams/core", "/v1/invitations/acme"} {
		f.Add(s)
	}
	// Requests about no package: the account's and organisations'.
	unpackaged := func(op string) bool {
		return strings.HasPrefix(op, "org") || strings.HasPrefix(op, "invitation") || strings.HasPrefix(op, "token") ||
			op == "whoami" || op == "exceptions" || op == "curation"
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, ok := parsePath(s)
		if ok && !nameless[req.op] && !unpackaged(req.op) && req.target.Name == "" {
			t.Errorf("parsePath(%q) = %+v without a name", s, req)
		}
		if ok && strings.HasPrefix(req.op, "org") && req.op != "orgs" && req.org == "" {
			t.Errorf("parsePath(%q) = %+v without an organisation", s, req)
		}
	})
}

// nameless are the operations not about a package.
var nameless = map[string]bool{"whoami": true, "tokens": true, "token": true, "leaked": true, "scanning": true, "alltokens": true, "exceptions": true}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want request
		ok   bool
	}{
		{"/v1/packages/npm/@acme%2Fdemo/owners", request{op: "owners", target: target("npm", "@acme/demo", "")}, true},
		{"/v1/packages/go/example.com%2Fmod%2Fv2/owners/bob", request{op: "owner", target: target("go", "example.com/mod/v2", ""), user: "bob"}, true},
		{"/v1/packages/pypi/demo/owners/yank", request{op: "owner", target: target("pypi", "demo", ""), user: "yank"}, true},
		{"/v1/packages/pypi/demo/1.0/yank", request{op: "yank", target: target("pypi", "demo", "1.0")}, true},
		{"/v1/packages/pypi/demo/1.0", request{op: "release", target: target("pypi", "demo", "1.0")}, true},
		{"/v1/packages/go/example.com%2Fm/v1.0.0", request{op: "release", target: target("go", "example.com/m", "v1.0.0")}, true},
		{"/v1/packages/pypi/demo/1.0/unyank", request{}, false},
		{"/v1/packages/pypi/demo/1.0/scan", request{op: "scan", target: target("pypi", "demo", "1.0")}, true},
		{"/v1/packages/npm/@acme%2Fdemo/1.0.0/findings", request{op: "findings", target: target("npm", "@acme/demo", "1.0.0")}, true},
		{"/v1/packages/pypi/demo/", request{}, false},
		{"/v1/packages/pypi/demo/owners/", request{}, false},
		{"/v1/packages/pypi//owners", request{}, false},
		{"/v1/packages/go/example.com/mod/owners", request{}, false},
		{"/v1/packages/pypi/demo/owners/bob/x", request{}, false},
		{"/v1/packages/npm/@acme%2Fdemo/tokens", request{op: "pkgtokens", target: target("npm", "@acme/demo", "")}, true},
		{"/v1/packages/npm//tokens", request{}, false},
		{"/v1/tokens/leaked", request{op: "leaked"}, true},
		{"/v1/tokens/0123456789abcdef", request{op: "token", user: "0123456789abcdef"}, true},
		{"/v1/secret-scanning/github", request{op: "scanning"}, true},
		{"/v1/secret-scanning/other", request{}, false},
		{"/v1/admin/tokens", request{op: "alltokens"}, true},
		{"/v1/packages/npm/@acme%2Fdemo/access", request{op: "access", target: target("npm", "@acme/demo", "")}, true},
		{"/v1/packages/npm/demo/access/users/bob", request{op: "access.user", target: target("npm", "demo", ""), user: "bob"}, true},
		{"/v1/packages/npm/demo/access/teams/core", request{op: "access.team", target: target("npm", "demo", ""), team: "core"}, true},
		{"/v1/packages/npm/demo/transfer", request{op: "transfer", target: target("npm", "demo", "")}, true},
		{"/v1/packages/npm/demo/review", request{op: "review", target: target("npm", "demo", "")}, true},
		{"/v1/orgs/acme/review", request{op: "org.review", org: "acme"}, true},
		{"/v1/orgs/acme/private", request{op: "org.private", org: "acme"}, true},
		{"/v1/packages/npm/demo/access/groups/core", request{}, false},
		{"/v1/packages/npm/demo/access/users/", request{}, false},
		{"/v1/orgs", request{op: "orgs"}, true},
		{"/v1/orgs/acme", request{op: "org", org: "acme"}, true},
		{"/v1/orgs/acme/members/bob", request{op: "org.member", org: "acme", user: "bob"}, true},
		{"/v1/orgs/acme/invitations/bob", request{op: "org.invitation", org: "acme", user: "bob"}, true},
		{"/v1/orgs/acme/teams/core", request{op: "org.team", org: "acme", team: "core"}, true},
		{"/v1/orgs/acme/teams/core/members/bob", request{op: "org.team.member", org: "acme", team: "core", user: "bob"}, true},
		{"/v1/invitations", request{op: "invitations"}, true},
		{"/v1/invitations/acme", request{op: "invitation", org: "acme"}, true},
		{"/v1/orgs/acme/teams", request{}, false},
		{"/v1/orgs//members/bob", request{}, false},
		{"/v1/orgs/acme/owners/bob", request{}, false},
	} {
		got, ok := parsePath(tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func target(eco, name, version string) trove.Target {
	return trove.Target{Ecosystem: trove.Ecosystem(eco), Name: name, Version: version}
}
