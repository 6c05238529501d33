package main

import (
	"context"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// TestDeleteCommand: trove delete turns a release into a tombstone through
// the API, only for owners with the yank action, and the version stays
// taken.
func TestDeleteCommand(t *testing.T) {
	e := servertest.New(t, servertest.Options{Rules: []registry.Rules{pypi.Rules{}}})
	e.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/api", Ecosystem: "api", Adapter: api.New(api.Options{Registry: e.Registry, Tokens: e.Tokens})}}
	})
	alice, bob := e.User(t, "alice", false), e.User(t, "bob", false)
	aliceTok, bobTok := e.Token(t, alice, nil), e.Token(t, bob, nil)
	publishOnly := e.Token(t, alice, nil, access.Read, access.Publish)
	who := &access.Principal{UserID: alice.ID, UserName: "alice", Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	publish := func(version string) error {
		st, err := e.Registry.Stage(strings.NewReader("bytes "+version), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = e.Registry.Publish(context.Background(), who, &registry.Upload{Ecosystem: trove.PyPI, Name: "demo", Version: version,
			Metadata: []byte(`{}`), Files: []registry.UploadFile{{Filename: "demo-" + version + ".tar.gz", Kind: "sdist", Content: st}}})
		return err
	}
	for _, v := range []string{"1.0", "2.0"} {
		if err := publish(v); err != nil {
			t.Fatal(err)
		}
	}
	url := "--url=" + e.URL
	// Without --yes, the command asks; anything but yes deletes nothing.
	for _, answer := range []string{"", "n\n", "no\n", "demo\n"} {
		_, stderr, err := runTroveStdin(t, aliceTok, answer, "delete", "pypi", "demo", "1.0", url)
		if err == nil || !strings.Contains(err.Error(), "not deleted: pypi demo 1.0 was not confirmed") || !strings.Contains(stderr, "delete pypi demo 1.0 for good?") {
			t.Errorf("trove delete answered %q = %q, %v; want a question and a refusal", answer, stderr, err)
		}
	}
	if _, err := e.Registry.File(context.Background(), trove.PyPI, "demo", "demo-1.0.tar.gz"); err != nil {
		t.Fatalf("an unconfirmed delete removed the file: %v", err)
	}
	url += " --yes"
	for _, tc := range []struct {
		token string
		args  []string
		want  string
	}{
		{"", []string{"pypi", "demo", "1.0"}, "no API token"},
		{bobTok, []string{"pypi", "demo", "1.0"}, "403 Forbidden"},
		{publishOnly, []string{"pypi", "demo", "1.0"}, "403 Forbidden"},
		{aliceTok, []string{"pypi", "demo", "9.9"}, "404 Not Found"},
		{aliceTok, []string{"pypi", "absent", "1.0"}, "404 Not Found"},
		{aliceTok, []string{"pypi", "demo", "not a version"}, "400 Bad Request"},
	} {
		_, _, err := runTrove(t, tc.token, append(append([]string{"delete"}, tc.args...), strings.Fields(url)...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("trove delete %v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := e.Registry.File(context.Background(), trove.PyPI, "demo", "demo-1.0.tar.gz"); err != nil {
		t.Fatalf("a refused delete removed the file: %v", err)
	}

	_, stderr, err := runTroveStdin(t, aliceTok, "y\n", "delete", "pypi", "demo", "1.0", "--url="+e.URL)
	if err != nil || !strings.Contains(stderr, "deleted pypi demo 1.0") {
		t.Fatalf("trove delete answered y = %q, %v", stderr, err)
	}
	if _, err := e.Registry.File(context.Background(), trove.PyPI, "demo", "demo-1.0.tar.gz"); err == nil {
		t.Error("the deleted release's file is still served")
	}
	if _, _, err := runTrove(t, aliceTok, append([]string{"delete", "pypi", "demo", "1.0"}, strings.Fields(url)...)...); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("deleting again = %v, want 404", err)
	}
	if err := publish("1.0"); err == nil {
		t.Error("a deleted version was published again; versions are never reused")
	}
}
