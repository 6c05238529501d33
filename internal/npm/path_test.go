package npm

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/trove-dev/trove/internal/trove"
)

func TestParsePath(t *testing.T) {
	secret := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		path string
		want request
		err  error // errNoRoute, trove.ErrInvalid, or nil
	}{
		{"/left-pad", request{op: opPackument, name: "left-pad"}, nil},
		{"/@acme%2fdemo", request{op: opPackument, name: "@acme/demo"}, nil},
		{"/@acme%2Fdemo", request{op: opPackument, name: "@acme/demo"}, nil},
		{"/@acme/demo", request{op: opPackument, name: "@acme/demo"}, nil},
		{"/%40acme%2fdemo", request{op: opPackument, name: "@acme/demo"}, nil},
		{"/left-pad/-rev/3-abc", request{op: opPackument, name: "left-pad", rev: "3-abc", hasRev: true}, nil},
		{"/@acme%2fdemo/-rev/3-abc", request{op: opPackument, name: "@acme/demo", rev: "3-abc", hasRev: true}, nil},
		{"/@acme/demo/-rev/3-abc", request{op: opPackument, name: "@acme/demo", rev: "3-abc", hasRev: true}, nil},
		{"/left-pad/-/left-pad-1.3.0.tgz", request{op: opTarball, name: "left-pad", filename: "left-pad-1.3.0.tgz"}, nil},
		{"/@acme/demo/-/demo-1.0.0.tgz", request{op: opTarball, name: "@acme/demo", filename: "demo-1.0.0.tgz"}, nil},
		{"/@acme%2fdemo/-/demo-1.0.0.tgz", request{op: opTarball, name: "@acme/demo", filename: "demo-1.0.0.tgz"}, nil},
		{"/@acme%2Fdemo/-/demo-1.0.0-beta.1.tgz", request{op: opTarball, name: "@acme/demo", filename: "demo-1.0.0-beta.1.tgz"}, nil},
		// npm writes the scope into the file name of the URL it sends.
		{"/@acme/demo/-/@acme/demo-1.0.0.tgz", request{op: opTarball, name: "@acme/demo", filename: "demo-1.0.0.tgz"}, nil},
		{"/@acme/demo/-/@acme%2fdemo-1.0.0.tgz", request{op: opTarball, name: "@acme/demo", filename: "demo-1.0.0.tgz"}, nil},
		{"/@acme/demo/-/demo-1.0.0.tgz/-rev/5-x", request{op: opTarball, name: "@acme/demo", filename: "demo-1.0.0.tgz", rev: "5-x", hasRev: true}, nil},
		{"/-/package/left-pad/dist-tags", request{op: opDistTags, name: "left-pad"}, nil},
		{"/-/package/@acme%2fdemo/dist-tags", request{op: opDistTags, name: "@acme/demo"}, nil},
		{"/-/package/@acme/demo/dist-tags", request{op: opDistTags, name: "@acme/demo"}, nil},
		{"/-/package/@acme%2fdemo/dist-tags/beta", request{op: opDistTag, name: "@acme/demo", arg: "beta"}, nil},
		{"/-/package/@acme/demo/dist-tags/next", request{op: opDistTag, name: "@acme/demo", arg: "next"}, nil},
		{"/-/ping", request{op: opPing}, nil},
		{"/-/whoami", request{op: opWhoami}, nil},
		{"/-/v1/search", request{op: opSearch}, nil},
		{"/-/v1/login", request{op: opLoginStart}, nil},
		{"/-/v1/login/" + secret, request{op: opLoginPage, arg: secret}, nil},
		{"/-/v1/done", request{op: opLoginDone}, nil},
		{"/-/user/org.couchdb.user:bob", request{op: opCouchUser, arg: "bob"}, nil},
		{"/-/user/org.couchdb.user%3Abob", request{op: opCouchUser, arg: "bob"}, nil},
		{"/-/user/org.couchdb.user:bob/-rev/1-x", request{op: opCouchUser, arg: "bob", rev: "1-x", hasRev: true}, nil},
		{"/-/user/token/trove_abc", request{op: opLogout, arg: "trove_abc"}, nil},
		{"/-/npm/v1/tokens", request{op: opTokens}, nil},
		{"/-/npm/v1/tokens/token/0123abcd", request{op: opToken, arg: "0123abcd"}, nil},
		{"/-/org/acme/user", request{op: opOrgUser, arg: "acme"}, nil},
		{"/-/org/%40acme/team", request{op: opOrgTeam, arg: "acme"}, nil},
		{"/-/team/acme/core", request{op: opTeam, arg: "acme", team: "core"}, nil},
		{"/-/team/@acme/core/user", request{op: opTeamUser, arg: "acme", team: "core"}, nil},
		{"/-/team/acme/core/package", request{op: opTeamPackage, arg: "acme", team: "core"}, nil},
		{"/-/package/@acme%2fdemo/collaborators", request{op: opCollaborators, name: "@acme/demo"}, nil},
		{"/-/package/left-pad/visibility", request{op: opVisibility, name: "left-pad"}, nil},
		{"/-/package/@acme/demo/access", request{op: opPackageAccess, name: "@acme/demo"}, nil},
		{"/-/org/acme/package", request{op: opPackages, arg: "acme"}, nil},
		{"/-/user/bob/package", request{op: opUserPackages, arg: "bob"}, nil},
		{"/-/user//package", request{}, errNoRoute},
		{"/-/org//user", request{}, errNoRoute},
		{"/-/org/@/user", request{}, errNoRoute},
		{"/-/team/acme//user", request{}, errNoRoute},
		{"/-/team/acme/core/other", request{}, errNoRoute},
		{"/-/team/acme/core/user/x", request{}, errNoRoute},

		// "-" is a valid package name, beside the /-/ namespace.
		{"/-", request{op: opPackument, name: "-"}, nil},
		{"/%2d", request{op: opPackument, name: "-"}, nil},
		{"/-/-rev/1-a", request{op: opPackument, name: "-", rev: "1-a", hasRev: true}, nil},
		{"/-/-/--1.0.0.tgz", request{op: opTarball, name: "-", filename: "--1.0.0.tgz"}, nil},

		{"", request{}, errNoRoute},
		{"/", request{}, errNoRoute},
		{"/-/", request{}, errNoRoute},
		{"/-/nothing", request{}, errNoRoute},
		{"/-/v1/login/not-hex!", request{}, errNoRoute},
		{"/-/user/bob", request{}, errNoRoute},
		{"/-/user/org.couchdb.user:", request{}, errNoRoute},
		{"/-/package/left-pad", request{}, errNoRoute},
		{"/-/package/left-pad/owners", request{}, errNoRoute},
		{"/@acme", request{}, errNoRoute},
		{"/@acme/", request{}, errNoRoute},
		{"/@acme/demo/extra", request{}, errNoRoute},
		{"/left-pad/1.0.0", request{}, errNoRoute},
		{"/left-pad/-/", request{}, errNoRoute},
		{"/left-pad/-/left-pad-1.0.0.zip", request{}, errNoRoute},
		{"/left-pad/-/..%2f..%2fetc%2fpasswd.tgz", request{}, errNoRoute},
		{"/left-pad/-/.tgz", request{}, errNoRoute},
		{"/left-pad/-/a/b.tgz", request{}, errNoRoute},
		{"/@acme/demo/-/@other/demo-1.0.0.tgz", request{}, errNoRoute},
		{"/left-pad/-rev", request{}, errNoRoute},
		{"/left-pad/-rev/1/x", request{}, errNoRoute},
		{"/left-pad/-/rev", request{}, errNoRoute},
		{"/bad%zzescape", request{}, errNoRoute},
		{"/" + strings.Repeat("a", maxPathLen), request{}, errNoRoute},
		{"left-pad", request{}, errNoRoute},

		{"/Left-Pad", request{}, trove.ErrInvalid},
		{"/.hidden", request{}, trove.ErrInvalid},
		{"/favicon.ico", request{}, trove.ErrInvalid},
		{"/a%2fb", request{}, trove.ErrInvalid},
		{"/@acme%2fdemo%2fmore", request{}, trove.ErrInvalid},
		{"/-/package/UPPER/dist-tags", request{}, trove.ErrInvalid},
	} {
		got, err := parsePath(tc.path)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("parsePath(%q) = %+v, %v, want error %v", tc.path, got, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parsePath(%q) = %v, want %+v", tc.path, err, tc.want)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(request{})); diff != "" {
			t.Errorf("parsePath(%q) mismatch (-want +got):\n%s", tc.path, diff)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/left-pad", "/@acme%2fdemo", "/@acme%2Fdemo", "/@acme/demo", "/@acme/demo/-/demo-1.0.0.tgz",
		"/@acme/demo/-/@acme/demo-1.0.0.tgz", "/x/-/x-1.0.0.tgz/-rev/1-a", "/x/-rev/2-b", "/-/package/@a%2fb/dist-tags/latest",
		"/-/user/org.couchdb.user:bob", "/-/npm/v1/tokens/token/ab", "/-/v1/login/abcdef", "/%40a%2f..", "/@a/..%2f..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := parsePath(path)
		if err != nil {
			if !errors.Is(err, errNoRoute) && !errors.Is(err, trove.ErrInvalid) {
				t.Fatalf("parsePath(%q) = %v: neither errNoRoute nor ErrInvalid", path, err)
			}
			return
		}
		if req.name != "" {
			if n, err := (Rules{}).ParseName(string(req.name)); err != nil || n != req.name {
				t.Fatalf("parsePath(%q) = name %q, which ParseName rejects: %v", path, req.name, err)
			}
		}
		switch req.op {
		case opPackument, opTarball:
			if req.name == "" {
				t.Fatalf("parsePath(%q) = %+v without a name", path, req)
			}
			// The path npm would build for the request parses back to it.
			again := "/" + escapeName(req.name)
			if req.op == opTarball {
				if !validFilename(req.filename) || strings.ContainsAny(req.filename, "/\\") || strings.Contains(req.filename, "..") && strings.HasPrefix(req.filename, ".") {
					t.Fatalf("parsePath(%q) = unsafe file name %q", path, req.filename)
				}
				again += "/-/" + req.filename
			}
			if req.hasRev && !strings.Contains(req.rev, "/") && req.rev != "" && !strings.Contains(req.rev, "%") && !strings.ContainsAny(req.rev, "?#") {
				again += "/-rev/" + req.rev
			} else {
				req.rev, req.hasRev = "", false
			}
			back, err := parsePath(again)
			if err != nil || back != req {
				t.Fatalf("parsePath(%q) = %+v; its canonical path %q parses to %+v, %v", path, req, again, back, err)
			}
		case opDistTags, opDistTag:
			if req.name == "" {
				t.Fatalf("parsePath(%q) = %+v without a name", path, req)
			}
		case opLoginPage:
			if !validSecret(req.arg) {
				t.Fatalf("parsePath(%q) = login secret %q of the wrong form", path, req.arg)
			}
		}
	})
}
