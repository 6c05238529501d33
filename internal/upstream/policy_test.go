package upstream

import (
	"context"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		changed, name string
		want          bool
	}{
		{"left-pad", "left-pad", true},
		{"left-pad", "right-pad", false},
		{"*", "left-pad", true},
		{"*", "@acme/lib", true},
		{"@acme/*", "@acme/lib", true},
		{"@acme/*", "@other/lib", false},
		{"@acme/*", "acme", false},
	} {
		if got := Covers(trove.NPM, trove.Name(c.changed), trove.Name(c.name)); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.changed, c.name, got, c.want)
		}
	}
}

type fakePolicy map[string]bool // version → blocked

func (p fakePolicy) Decide(_ context.Context, vs []Version) ([]Decision, error) {
	out := make([]Decision, len(vs))
	for i, v := range vs {
		out[i] = Decision{Allowed: !p[v.Version], Rule: "deny-list", Why: "denied"}
		if out[i].Allowed {
			out[i].Rule, out[i].Why = "", ""
		}
	}
	return out, nil
}

type fakeWithholder struct {
	held  map[string]trove.State // "name version"
	calls int
}

func (w *fakeWithholder) Withheld(_ context.Context, eco trove.Ecosystem, name trove.Name, versions []string) (map[string]trove.State, error) {
	w.calls++
	out := map[string]trove.State{}
	for _, v := range versions {
		if st, ok := w.held[string(name)+" "+v]; ok {
			out[v] = st
		}
	}
	return out, nil
}

// TestDecideWithheld: the versions the registry withholds are refused
// after the policy's own decisions (which win), with the rule naming why,
// asking the registry once per name; Check answers them with a
// BlockedError that says they are not served, not a curation rule.
func TestDecideWithheld(t *testing.T) {
	w := &fakeWithholder{held: map[string]trove.State{"a 1.0.0": trove.Suspended, "a 2.0.0": trove.Deleted, "a 3.0.0": trove.Suspended}}
	c := New(Options{Ecosystem: trove.NPM, Policy: fakePolicy{"3.0.0": true}, Withheld: w})
	vs := []Version{{Ecosystem: trove.NPM, Name: "a", Version: "1.0.0"}, {Ecosystem: trove.NPM, Name: "a", Version: "2.0.0"},
		{Ecosystem: trove.NPM, Name: "a", Version: "3.0.0"}, {Ecosystem: trove.NPM, Name: "a", Version: "4.0.0"}, {Ecosystem: trove.NPM, Name: "b", Version: "1.0.0"}}
	ds, err := c.Decide(context.Background(), vs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"quarantined", "deleted", "deny-list", "", ""}
	for i, d := range ds {
		if d.Rule != want[i] || d.Allowed != (want[i] == "") {
			t.Errorf("%s %s: %+v, want rule %q", vs[i].Name, vs[i].Version, d, want[i])
		}
	}
	if w.calls != 2 {
		t.Errorf("the registry was asked %d times for 2 names", w.calls)
	}
	err = c.Check(context.Background(), vs[0])
	if be, ok := err.(*BlockedError); !ok || !strings.Contains(be.Error(), "npm a 1.0.0 is not served by this registry (quarantined): ") {
		t.Errorf("Check of a quarantined version = %v", err)
	}
}
