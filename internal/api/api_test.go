package api

import (
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/v1/whoami", "/v1/packages/npm/@a%2Fb/1.0.0/yank", "/v1/packages/go/example.com%2Fm/owners/bob"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, ok := parsePath(s)
		if ok && !nameless[req.op] && req.target.Name == "" {
			t.Errorf("parsePath(%q) = %+v without a name", s, req)
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
