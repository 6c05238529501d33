package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/goproxy"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// runTrove runs the command line with TROVE_TOKEN set to token and returns
// its standard output and error.
func runTrove(t *testing.T, token string, args ...string) (string, string, error) {
	t.Helper()
	return runTroveStdin(t, token, "", args...)
}

// runTroveStdin runs trove with stdin as its standard input.
func runTroveStdin(t *testing.T, token, stdin string, args ...string) (string, string, error) {
	t.Helper()
	t.Setenv("TROVE_TOKEN", token)
	var stdout, stderr bytes.Buffer
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	err := root.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

func TestOwnerCommand(t *testing.T) {
	e := servertest.New(t, servertest.Options{Rules: []registry.Rules{npm.Rules{}, pypi.Rules{}, goproxy.Rules{}}})
	e.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/api", Ecosystem: "api", Adapter: api.New(api.Options{Registry: e.Registry, Tokens: e.Tokens})}}
	})
	alice, bob := e.User(t, "alice", false), e.User(t, "bob", false)
	aliceTok, bobTok := e.Token(t, alice, nil), e.Token(t, bob, nil)
	readOnly := e.Token(t, alice, nil, access.Read)
	who := &access.Principal{UserID: alice.ID, UserName: "alice", Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	for _, p := range []struct {
		eco      trove.Ecosystem
		name, fn string
	}{{trove.NPM, "@acme/demo", "demo-1.0.0.tgz"}, {trove.PyPI, "Demo_Pkg", "demo_pkg-1.0.0.tar.gz"}} {
		st, err := e.Registry.Stage(strings.NewReader("bytes"), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		u := &registry.Upload{Ecosystem: p.eco, Name: p.name, Version: "1.0.0", Metadata: []byte(`{}`),
			Files: []registry.UploadFile{{Filename: p.fn, Kind: "sdist", Content: st}}}
		if _, err := e.Registry.Publish(context.Background(), who, u); err != nil {
			t.Fatal(err)
		}
	}
	url := "--url=" + e.URL

	out, _, err := runTrove(t, "", "owner", "list", "npm", "@acme/demo", url)
	if err != nil || out != "alice\n" {
		t.Errorf("owner list = %q, %v; want alice", out, err)
	}
	_, stderr, err := runTrove(t, aliceTok, "owner", "add", "pypi", "demo-pkg", "bob", url)
	if err != nil || !strings.Contains(stderr, "bob is an owner of pypi demo-pkg") {
		t.Errorf("owner add = %q, %v", stderr, err)
	}
	if out, _, err := runTrove(t, "", "owner", "list", "pypi", "demo.pkg", url); err != nil || out != "alice\nbob\n" {
		t.Errorf("owner list after add = %q, %v; want alice, bob", out, err)
	}
	if _, _, err := runTrove(t, bobTok, "owner", "remove", "pypi", "demo-pkg", "alice", url); err != nil {
		t.Errorf("owner remove = %v", err)
	}
	for _, tc := range []struct {
		token string
		args  []string
		want  string
	}{
		{"", []string{"add", "npm", "@acme/demo", "bob"}, "no API token"},
		{bobTok, []string{"add", "npm", "@acme/demo", "bob"}, "403 Forbidden: permission denied: user bob is not an owner of npm:@acme/demo"},
		{readOnly, []string{"add", "npm", "@acme/demo", "bob"}, "403 Forbidden"},
		{aliceTok, []string{"add", "npm", "@acme/demo", "nobody"}, "404 Not Found: no user nobody"},
		{aliceTok, []string{"remove", "npm", "@acme/demo", "alice"}, "400 Bad Request: alice is the only owner of @acme/demo"},
		{aliceTok, []string{"add", "npm", "@acme/absent", "bob"}, "404 Not Found: package @acme/absent not found"},
		{"", []string{"list", "go", "example.com/absent", "bob"}, "accepts 2 arg(s)"},
		{"", []string{"list", "go", "example.com/absent"}, "404 Not Found"},
	} {
		_, _, err := runTrove(t, tc.token, append(append([]string{"owner"}, tc.args...), url)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("trove owner %v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	if out, _, err := runTrove(t, "", "owner", "list", "pypi", "demo-pkg", url); err != nil || out != "bob\n" {
		t.Errorf("owner list after remove = %q, %v; want bob", out, err)
	}
	if out, _, err := runTrove(t, "", "owner", "list", "npm", "@acme/demo", url); err != nil || out != "alice\n" {
		t.Errorf("refused changes changed the owners: %q, %v", out, err)
	}
}
