package goproxy

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server/servertest"
)

// tryPublish uploads a module version with token and returns the response.
func (e *testEnv) tryPublish(t *testing.T, token, mod, version string) response {
	t.Helper()
	gomod := goMod(mod)
	z := moduleZip(t, mod, version, map[string]string{"go.mod": string(gomod), "lib.go": "package lib\n"})
	return e.post(t, token, uploadForm(mod, version, gomod, z))
}

// TestModulePathsAreOwned checks that the owners of a module own every
// path below it and its major versions, and that no one else publishes a
// module inside, beside or above it.
func TestModulePathsAreOwned(t *testing.T) {
	e := newTestEnv(t)
	bob := e.Token(t, e.User(t, "bob", false), nil)
	if r := e.tryPublish(t, e.token, "example.test/a/lib", "v1.0.0"); r.StatusCode != http.StatusCreated {
		t.Fatalf("alice publishing example.test/a/lib: %s %s", r.Status, r.body)
	}
	for _, mod := range []string{
		"example.test/a/lib/util",   // below
		"example.test/a/lib/v2",     // a major version beside it
		"example.test/a/lib/v3/x",   // below a major version
		"example.test/a",            // above
		"example.test/A/Lib/extras", // below, in other case
	} {
		version := "v1.0.0"
		if strings.HasSuffix(mod, "/v2") {
			version = "v2.0.0"
		}
		r := e.tryPublish(t, bob, mod, version)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "example.test/a/lib") {
			t.Errorf("bob publishing %s: %s %s, want 403 naming example.test/a/lib", mod, r.Status, r.body)
		}
	}
	// Unrelated paths are free; the owner publishes below and beside.
	if r := e.tryPublish(t, bob, "example.test/a/libx", "v1.0.0"); r.StatusCode != http.StatusCreated {
		t.Errorf("bob publishing example.test/a/libx: %s %s", r.Status, r.body)
	}
	for _, mod := range []string{"example.test/a/lib/util", "example.test/a/lib/v2"} {
		version := map[bool]string{true: "v2.0.0", false: "v1.0.0"}[strings.HasSuffix(mod, "/v2")]
		if r := e.tryPublish(t, e.token, mod, version); r.StatusCode != http.StatusCreated {
			t.Errorf("alice publishing %s: %s %s", mod, r.Status, r.body)
		}
	}
	// The major versions of a module are one tree: owning v1 alone is not
	// enough once v2 exists, owning both is. The owners alice adds own the
	// paths below as much as she does.
	ctx := context.Background()
	if err := e.Registry.AddOwner(ctx, principal(e.alice), "go", "example.test/a/lib", "bob"); err != nil {
		t.Fatal(err)
	}
	if r := e.tryPublish(t, bob, "example.test/a/lib/more", "v1.0.0"); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "lib/v2") {
		t.Errorf("bob, an owner of example.test/a/lib but not of its v2, publishing example.test/a/lib/more: %s %s, want 403", r.Status, r.body)
	}
	if err := e.Registry.AddOwner(ctx, principal(e.alice), "go", "example.test/a/lib/v2", "bob"); err != nil {
		t.Fatal(err)
	}
	if r := e.tryPublish(t, bob, "example.test/a/lib/more", "v1.0.0"); r.StatusCode != http.StatusCreated {
		t.Errorf("bob, an owner of example.test/a/lib and its v2, publishing example.test/a/lib/more: %s %s", r.Status, r.body)
	}
	// Above a module bob does not own: refused, even with another of his below.
	if r := e.tryPublish(t, bob, "example.test", "v1.0.0"); r.StatusCode != http.StatusForbidden {
		t.Errorf("bob publishing example.test above alice's modules: %s %s, want 403", r.Status, r.body)
	}
}

// TestReservedModulePaths checks that reserved paths are published only
// by their designated owners and administrators.
func TestReservedModulePaths(t *testing.T) {
	e := newTestEnvWith(t, servertest.Options{Reserved: []registry.Reservation{
		{Pattern: access.Pattern("go:github.com/*")},
		{Pattern: access.Pattern("go:corp.example/acme/*"), Owners: []string{"carol"}},
	}})
	carol := e.Token(t, e.User(t, "carol", false), nil)
	admin := e.Token(t, e.User(t, "root", true), nil)
	for _, tc := range []struct {
		token, mod string
		want       int
	}{
		{e.token, "github.com/someone/lib", http.StatusForbidden},
		{e.token, "github.com/SomeOne/Lib2", http.StatusForbidden},
		{carol, "github.com/someone/lib", http.StatusForbidden},
		{e.token, "corp.example/acme/lib", http.StatusForbidden},
		{carol, "corp.example/acme/lib", http.StatusCreated},
		{admin, "github.com/someone/lib", http.StatusCreated},
		{e.token, "corp.example/other/lib", http.StatusCreated},
	} {
		r := e.tryPublish(t, tc.token, tc.mod, "v1.0.0")
		if r.StatusCode != tc.want {
			t.Errorf("publishing %s: %s %s, want %d", tc.mod, r.Status, r.body, tc.want)
		}
		if tc.want == http.StatusForbidden && !strings.Contains(r.body, "reserved") {
			t.Errorf("publishing %s: %s, want it to say the path is reserved", tc.mod, r.body)
		}
	}
}
