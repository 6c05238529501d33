// Package delta is the scanner that compares a release with the package's
// previous one and holds it for review when it changes in the ways
// supply-chain attacks change packages: an install script that was not
// there, a new dependency on a package created days ago or that exists
// nowhere, a first release by someone who just got a role on the package,
// a sudden jump in size or in obfuscated code.
package delta

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/scan"
)

// Options are the scanner's thresholds; a zero threshold turns its rule
// off. Defaults returns the defaults.
type Options struct {
	// SizeFactor and SizeFloor: a release is held when its size is more
	// than SizeFactor times the previous release's and more than
	// SizeFloor bytes.
	SizeFactor int
	SizeFloor  int64
	// YoungDependency: a new dependency on a package created in this
	// registry less than this long ago holds the release.
	YoungDependency time.Duration
	// NewMaintainer: the first release by a user who never published the
	// package before and got their role on it less than this long ago
	// holds the release.
	NewMaintainer time.Duration
	// MissingDependency: a new dependency on a package that neither this
	// registry nor its upstreams have holds the release.
	MissingDependency bool
	// ObfuscatedFloor: a release with at least this many bytes of
	// obfuscated code, more than four times the previous release's, is
	// held (obfuscation.go).
	ObfuscatedFloor int64
}

// Defaults returns the default thresholds.
func Defaults() Options {
	return Options{SizeFactor: 10, SizeFloor: 5 << 20, YoungDependency: 7 * 24 * time.Hour,
		NewMaintainer: 30 * 24 * time.Hour, MissingDependency: true, ObfuscatedFloor: 16 << 10}
}

// A Scanner compares releases with their predecessors.
type Scanner struct{ o Options }

// New returns a scanner with the thresholds o.
func New(o Options) *Scanner { return &Scanner{o: o} }

// Name returns "delta".
func (*Scanner) Name() string { return "delta" }

// Scan compares a with a.Previous; a first release has nothing to compare.
// Every finding holds the release.
func (s *Scanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	if a.Previous == nil {
		return nil, nil
	}
	var fs []scan.Finding
	now, before := size(a), size(a.Previous)
	if a.Ecosystem == "npm" {
		m, prev := parseNPM(a.Metadata), parseNPM(a.Previous.Metadata)
		fs = append(fs, npmScripts(a, m, prev)...)
		now, before = cmp.Or(m.Dist.UnpackedSize, now), cmp.Or(prev.Dist.UnpackedSize, before)
	}
	if a.Ecosystem == "pypi" {
		hooks, err := pypiHooks(ctx, a)
		if err != nil {
			return nil, err
		}
		fs = append(fs, hooks...)
	}
	fs = append(fs, s.dependencies(a)...)
	fs = append(fs, s.maintainer(a)...)
	fs = append(fs, s.sizeJump(a, now, before)...)
	obf, err := s.obfuscationJump(ctx, a)
	if err != nil {
		return nil, err
	}
	fs = append(fs, obf...)
	for i := range fs {
		fs[i].Scanner, fs[i].Verdict = s.Name(), scan.Hold
	}
	return fs, nil
}

// dependencies reports new dependencies on packages that are very young
// here, or that no registry Trove sees has.
func (s *Scanner) dependencies(a *scan.Artifact) []scan.Finding {
	before := map[string]bool{}
	for _, d := range a.Previous.Dependencies {
		before[d.Name] = true
	}
	var fs []scan.Finding
	for _, d := range a.Dependencies {
		switch {
		case before[d.Name]:
		case s.o.MissingDependency && d.Missing:
			fs = append(fs, scan.Finding{Rule: "dependency-missing",
				Message: fmt.Sprintf("new dependency on %s, which neither this registry nor its upstreams have (%s did not depend on it)", d.Name, a.Previous.Version)})
		case s.o.YoungDependency > 0 && d.Age > 0 && d.Age < s.o.YoungDependency:
			fs = append(fs, scan.Finding{Rule: "dependency-young",
				Message: fmt.Sprintf("new dependency on %s, which was created %s ago (%s did not depend on it)", d.Name, ago(d.Age), a.Previous.Version)})
		}
	}
	return fs
}

// maintainer reports the first release by someone who recently got a
// role on the package.
func (s *Scanner) maintainer(a *scan.Artifact) []scan.Finding {
	p := a.Publisher
	if s.o.NewMaintainer <= 0 || p == nil || !p.FirstRelease || p.RoleAge <= 0 || p.RoleAge >= s.o.NewMaintainer {
		return nil
	}
	return []scan.Finding{{Rule: "new-maintainer",
		Message: fmt.Sprintf("first release by %s, who got a role on the package %s ago and had not published it before (%s was published by someone else)", p.Name, ago(p.RoleAge), a.Previous.Version)}}
}

// ago renders a duration in whole days, or hours below two days.
func ago(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return "less than 2 hours"
}

// npmInstallScripts are the lifecycle scripts npm runs when it installs a
// package from a registry. prepare is not one: npm runs it for git
// dependencies and local installs, never for a registry's tarball.
var npmInstallScripts = []string{"preinstall", "install", "postinstall"}

// npmManifest is what the scanner reads of an npm version's manifest.
type npmManifest struct {
	Scripts map[string]any `json:"scripts"`
	Dist    struct {
		UnpackedSize int64 `json:"unpackedSize"`
	} `json:"dist"`
}

func parseNPM(m json.RawMessage) npmManifest {
	var v npmManifest
	_ = json.Unmarshal(m, &v) // a manifest that does not parse has no scripts
	return v
}

// npmScripts reports install scripts the previous release did not have.
func npmScripts(a *scan.Artifact, now, before npmManifest) []scan.Finding {
	var fs []scan.Finding
	for _, name := range npmInstallScripts {
		cmd, ok := now.Scripts[name].(string)
		if !ok || strings.TrimSpace(cmd) == "" {
			continue
		}
		if old, ok := before.Scripts[name].(string); ok && strings.TrimSpace(old) != "" {
			continue
		}
		fs = append(fs, scan.Finding{Rule: "install-script-added", File: "package.json",
			Message: fmt.Sprintf("%s script added: `%s` (%s had none)", name, quote(cmd), a.Previous.Version)})
	}
	return fs
}

// maxQuoted bounds how much of a script a message quotes.
const maxQuoted = 200

func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxQuoted {
		s = strings.ToValidUTF8(s[:maxQuoted], "") + "…"
	}
	return strings.ReplaceAll(s, "`", "'")
}

// size returns the sum of an artifact's files' sizes (npm's unpacked
// size is used instead when the manifest has it).
func size(a *scan.Artifact) int64 {
	var n int64
	for _, f := range a.Files {
		n += f.Size
	}
	return n
}

// sizeJump reports a release much larger than the previous one.
func (s *Scanner) sizeJump(a *scan.Artifact, now, before int64) []scan.Finding {
	if s.o.SizeFactor <= 0 || now <= s.o.SizeFloor || before <= 0 || now <= int64(s.o.SizeFactor)*before {
		return nil
	}
	return []scan.Finding{{Rule: "size-jump",
		Message: fmt.Sprintf("size jumped from %s in %s to %s (more than %d times, and over %s)",
			human(before), a.Previous.Version, human(now), s.o.SizeFactor, human(s.o.SizeFloor))}}
}

func human(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
