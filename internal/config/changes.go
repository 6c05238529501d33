package config

import "errors"

// ScanChanges configures the scanner that compares each release with the
// package's previous one and holds it for review when it changes the way
// attacks change packages (internal/scan/delta; docs/scanning.md,
// "Changes from the previous version"). A zero threshold turns its rule
// off; a new install script always holds.
type ScanChanges struct {
	// SizeFactor and SizeFloor: a release more than SizeFactor times the
	// previous one's size (npm: unpacked; otherwise its files') and
	// larger than SizeFloor bytes is held.
	SizeFactor int      `toml:"size_factor"`
	SizeFloor  ByteSize `toml:"size_floor"`
	// YoungDependency: a new dependency on a package created in this
	// registry less than this long ago is held.
	YoungDependency Duration `toml:"young_dependency"`
	// NewMaintainer: the first release by a user who got their role on
	// the package less than this long ago, and never published it
	// before, is held.
	NewMaintainer Duration `toml:"new_maintainer"`
	// MissingDependency: a new dependency on a name that neither this
	// registry nor the ecosystem's upstream has is held (never without
	// an upstream: a name unknown here is then normal).
	MissingDependency bool `toml:"missing_dependency"`
	// ObfuscatedFloor: a release with at least this much obfuscated code
	// (an obfuscator's identifiers or \x-escaped strings), more than four
	// times what the previous one had, is held.
	ObfuscatedFloor ByteSize `toml:"obfuscated_floor"`
}

// DefaultScanChanges are the default thresholds.
var DefaultScanChanges = ScanChanges{SizeFactor: 10, SizeFloor: 5 << 20, YoungDependency: Duration(7 * Day),
	NewMaintainer: Duration(30 * Day), MissingDependency: true, ObfuscatedFloor: 16 << 10}

func (s ScanChanges) validate() []error {
	if s.SizeFactor < 0 || s.SizeFloor < 0 || s.YoungDependency < 0 || s.NewMaintainer < 0 || s.ObfuscatedFloor < 0 {
		return []error{errors.New("scan_changes: size_factor, size_floor, young_dependency, new_maintainer and obfuscated_floor must not be negative (0 turns a rule off)")}
	}
	if s.SizeFactor == 1 {
		return []error{errors.New("scan_changes.size_factor: 1 would hold every release larger than the previous one; use 2 or more (the default is 10), or 0 to turn the rule off")}
	}
	return nil
}
