package curate

import (
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// TODO(issue 10): these mirror upstream.Version and upstream.Decision until
// the upstream core lands; then they become aliases of those types.

// A Version is an upstream version to decide on.
type Version struct {
	Ecosystem      trove.Ecosystem
	Name           trove.Name
	Version        string
	Published      time.Time // zero if unknown
	InstallScripts bool
}

// A Decision says whether a version may be served, and if not which rule
// blocks it and why, for people.
type Decision struct {
	Allowed bool
	Rule    string
	Why     string
}
