// Package control holds Trove's control catalogue: every control of the
// frameworks Trove implements (OpenSSF Principles for Package Repository
// Security, the packman controls, OWASP SCVS V4), with its status and the
// automated tests that prove it. The catalogue is catalogue.toml beside
// this file; tests here keep it complete and honest: every framework ID
// appears exactly once, and a control claimed as implemented (or partial)
// names tests that exist in the repository.
package control

import (
	_ "embed"
	"fmt"
	"slices"

	"github.com/BurntSushi/toml"
)

// Statuses a control can have.
const (
	Implemented    = "implemented"     // every part of the control holds, proven by its tests
	Partial        = "partial"         // some parts hold (proven by tests); Notes say what is missing
	NotImplemented = "not-implemented" // nothing yet
	NotApplicable  = "not-applicable"  // the control is about something Trove is not (Notes say why)
)

// A Control is one catalogue entry.
type Control struct {
	ID        string   `toml:"id"`
	Framework string   `toml:"framework"`
	Title     string   `toml:"title"`
	Status    string   `toml:"status"`
	Tests     []string `toml:"tests"` // "path/of/package TestName", relative to the repository root
	Docs      []string `toml:"docs"`  // documents that describe the control's policy, if any
	Notes     string   `toml:"notes"`
}

// A Catalogue is every control.
type Catalogue struct {
	Controls []Control `toml:"control"`
}

//go:embed catalogue.toml
var catalogueTOML string

// Load parses the embedded catalogue.
func Load() (*Catalogue, error) {
	var c Catalogue
	md, err := toml.Decode(catalogueTOML, &c)
	if err != nil {
		return nil, fmt.Errorf("parsing control catalogue: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("parsing control catalogue: unknown keys %v", und)
	}
	for _, ctl := range c.Controls {
		if !slices.Contains([]string{Implemented, Partial, NotImplemented, NotApplicable}, ctl.Status) {
			return nil, fmt.Errorf("control %s: unknown status %q", ctl.ID, ctl.Status)
		}
	}
	return &c, nil
}
