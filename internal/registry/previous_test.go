package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// recordingScanner keeps the artifacts it is shown.
type recordingScanner struct{ seen []*scan.Artifact }

func (s *recordingScanner) Name() string { return "record" }
func (s *recordingScanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	s.seen = append(s.seen, a)
	return nil, nil
}

// proxyingUpstreams is fakeUpstreams that says the ecosystem is proxied.
type proxyingUpstreams struct{ fakeUpstreams }

func (proxyingUpstreams) Proxies(eco trove.Ecosystem) bool { return eco == "npm" }

// TestScanSeesPrevious checks what scanners are shown of the release an
// upload follows: the latest published release, its files and
// dependencies; the
// publisher's history; and, for the dependencies the previous release did
// not have, their age here and whether they are missing everywhere.
func TestScanSeesPrevious(t *testing.T) {
	rec := &recordingScanner{}
	e := newEnv(t, rec)
	e.reg.SetUpstreams(proxyingUpstreams{fakeUpstreams{"upstream-only": true}})
	alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
	upload := func(version string, deps ...string) *registry.Upload {
		u := e.upload(t, "demo", version, map[string]string{"demo-" + version + ".tgz": "v" + version})
		for _, d := range deps {
			u.Dependencies = append(u.Dependencies, registry.Dependency{Name: d, Constraint: "*"})
		}
		return u
	}
	e.publish(t, alice, "old-dep", "1.0", "x")
	if _, err := e.reg.Publish(ctx, alice, upload("1.0", "old-dep")); err != nil {
		t.Fatal(err)
	}
	if a := rec.seen[len(rec.seen)-1]; a.Previous != nil || a.Publisher == nil || !a.Publisher.FirstRelease {
		t.Errorf("first release: Previous %+v, Publisher %+v; want none, a first release", a.Previous, a.Publisher)
	}

	e.now = e.now.Add(30 * 24 * time.Hour)
	e.publish(t, alice, "young-dep", "1.0", "x")
	if err := e.reg.AddOwner(ctx, alice, "npm", "demo", "bob"); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(3 * time.Hour)
	if _, err := e.reg.Publish(ctx, bob, upload("1.1", "old-dep", "young-dep", "upstream-only", "nowhere", "unreachable")); err != nil {
		t.Fatal(err)
	}
	a := rec.seen[len(rec.seen)-1]
	if a.Previous == nil || a.Previous.Version != "1.0" || len(a.Previous.Files) != 1 || a.Previous.Files[0].Name != "demo-1.0.tgz" {
		t.Fatalf("Previous = %+v, want 1.0 with its file", a.Previous)
	}
	b := make([]byte, 10)
	if n, _ := a.Previous.Files[0].Content.ReadAt(b, 1); string(b[:n]) != "1.0" {
		t.Errorf("previous file reads %q from offset 1, want %q", b[:n], "1.0")
	}
	if diff := cmp.Diff([]scan.Dependency{{Name: "old-dep"}}, a.Previous.Dependencies); diff != "" {
		t.Errorf("previous dependencies (-want +got):\n%s", diff)
	}
	want := []scan.Dependency{ // by name
		{Name: "nowhere", Missing: true},        // no one has it
		{Name: "old-dep"},                       // not new: not looked up
		{Name: "unreachable"},                   // the upstream could not say
		{Name: "upstream-only"},                 // an upstream has it
		{Name: "young-dep", Age: 3 * time.Hour}, // created here 3 hours ago
	}
	if diff := cmp.Diff(want, a.Dependencies); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
	if p := a.Publisher; p == nil || p.Name != "bob" || !p.FirstRelease || p.RoleAge != 3*time.Hour {
		t.Errorf("Publisher = %+v, want bob's first release, a role 3 hours old", p)
	}

	// alice's next release follows 1.1; she published before.
	if _, err := e.reg.Publish(ctx, alice, upload("1.2")); err != nil {
		t.Fatal(err)
	}
	a = rec.seen[len(rec.seen)-1]
	if a.Previous.Version != "1.1" || a.Publisher.FirstRelease || a.Publisher.RoleAge != 30*24*time.Hour+3*time.Hour {
		t.Errorf("alice's 1.2: Previous %s, Publisher %+v", a.Previous.Version, a.Publisher)
	}
}
