package knownbad

import (
	"fmt"
	"strings"

	"github.com/google/osv-scalibr/semantic"

	"github.com/trove-dev/trove/internal/trove"
)

// A spec says which versions of a package a record lists, as stored in
// the database (meta.MalwareVersions.Spec):
//
//   - every version
//     =1.2.3                            one version
//     introduced=1.0 fixed=1.4          an OSV range: introduced ≤ v < fixed
//     introduced=1.0 last_affected=1.3  introduced ≤ v ≤ last_affected
//     introduced=1.0                    every version from 1.0
//
// Versions are compared with the ecosystem's ordering (osv-scalibr
// semantic, as OSV tools do), so PyPI's 1.0 is 1.0.0.
type spec struct {
	all                             bool
	exact                           string
	introduced, fixed, lastAffected string
}

func (s spec) String() string {
	switch {
	case s.all:
		return "*"
	case s.exact != "":
		return "=" + s.exact
	}
	out := "introduced=" + s.introduced
	if s.fixed != "" {
		out += " fixed=" + s.fixed
	}
	if s.lastAffected != "" {
		out += " last_affected=" + s.lastAffected
	}
	return out
}

// parseSpec reads a stored spec.
func parseSpec(text string) (spec, error) {
	switch {
	case text == "*":
		return spec{all: true}, nil
	case strings.HasPrefix(text, "="):
		if v := text[1:]; v != "" && !strings.ContainsAny(v, " \t") {
			return spec{exact: v}, nil
		}
	default:
		var s spec
		for _, f := range strings.Fields(text) {
			k, v, ok := strings.Cut(f, "=")
			switch {
			case !ok || v == "":
				return spec{}, fmt.Errorf("version spec %q: %q is not key=version", text, f)
			case k == "introduced":
				s.introduced = v
			case k == "fixed":
				s.fixed = v
			case k == "last_affected":
				s.lastAffected = v
			default:
				return spec{}, fmt.Errorf("version spec %q: unknown event %q", text, k)
			}
		}
		if s.introduced != "" && (s.fixed == "" || s.lastAffected == "") {
			return s, nil
		}
	}
	return spec{}, fmt.Errorf("version spec %q: want *, =version or introduced=… [fixed=…|last_affected=…]", text)
}

// osvEcosystem is the ecosystem's name in OSV and osv-scalibr.
func osvEcosystem(eco trove.Ecosystem) string {
	switch eco {
	case trove.NPM:
		return "npm"
	case trove.PyPI:
		return "PyPI"
	case trove.Go:
		return "Go"
	}
	return ""
}

// troveEcosystem is the Trove ecosystem of an OSV ecosystem name, "" for
// one Trove does not serve.
func troveEcosystem(osv string) trove.Ecosystem {
	switch osv {
	case "npm":
		return trove.NPM
	case "PyPI":
		return trove.PyPI
	case "Go":
		return trove.Go
	}
	return ""
}

// matches reports whether version is one of the spec's versions. A
// version the ecosystem's ordering cannot read matches only * and its
// own exact spelling.
func (s spec) matches(eco trove.Ecosystem, version string) bool {
	if s.all || s.exact == version {
		return true
	}
	v, err := semantic.Parse(version, osvEcosystem(eco))
	if err != nil {
		return false
	}
	cmp := func(other string) (int, bool) {
		c, err := v.CompareStr(other)
		return c, err == nil
	}
	if s.exact != "" {
		c, ok := cmp(s.exact)
		return ok && c == 0
	}
	if s.introduced != "0" {
		if c, ok := cmp(s.introduced); !ok || c < 0 {
			return false
		}
	}
	if s.fixed != "" {
		if c, ok := cmp(s.fixed); !ok || c >= 0 {
			return false
		}
	}
	if s.lastAffected != "" {
		if c, ok := cmp(s.lastAffected); !ok || c > 0 {
			return false
		}
	}
	return true
}

// curation returns the spec as a curation mark's versions ("*", one
// version or a range in the ecosystem's syntax), or "" where curation
// cannot say it (a range of Go versions, which has no ranges); the
// scanner still matches those.
func (s spec) curation(eco trove.Ecosystem) string {
	switch {
	case s.all:
		return "*"
	case s.exact != "":
		return s.exact
	case eco == trove.Go:
		return ""
	}
	sep := " "
	if eco == trove.PyPI {
		sep = ","
	}
	var parts []string
	if s.introduced != "0" {
		parts = append(parts, ">="+s.introduced)
	}
	if s.fixed != "" {
		parts = append(parts, "<"+s.fixed)
	}
	if s.lastAffected != "" {
		parts = append(parts, "<="+s.lastAffected)
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, sep)
}
