package main

import (
	"testing"

	"github.com/trove-dev/trove/internal/registry"
)

// TestEveryEcosystemRebuilds: trove log recover rebuilds releases of
// every registered ecosystem from their files, so each one's rules must
// be a registry.Rebuilder.
func TestEveryEcosystemRebuilds(t *testing.T) {
	for _, e := range ecosystems {
		if _, ok := e.rules.(registry.Rebuilder); !ok {
			t.Errorf("the %s ecosystem's rules are not a registry.Rebuilder: trove log recover could not rebuild its releases", e.rules.Ecosystem())
		}
	}
}
