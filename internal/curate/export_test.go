package curate

import "github.com/trove-dev/trove/internal/trove"

// Invalidate drops cached state as a change of (eco, name) would.
func (s *Service) Invalidate(eco trove.Ecosystem, name trove.Name) { s.invalidate(eco, name) }
