package upstream

import (
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
