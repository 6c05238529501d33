package pypi

import (
	"fmt"
	"regexp"
	"strings"

	pep440 "github.com/aquasecurity/go-pep440-version"
	"github.com/trove-dev/trove/internal/confusable"
	"github.com/trove-dev/trove/internal/trove"
)

// Rules are PyPI's naming (PEP 508, PEP 503) and versioning (PEP 440) rules.
type Rules struct{}

// Ecosystem returns trove.PyPI.
func (Rules) Ecosystem() trove.Ecosystem { return trove.PyPI }

var namePattern = regexp.MustCompile(`^(?i)([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)

// MaxNameLen bounds project names.
const MaxNameLen = 200

// Normalize returns a project name in PEP 503 normalized form: lowercase,
// with every run of '-', '_' and '.' replaced by one '-'.
func Normalize(name string) string {
	return strings.ToLower(runs.ReplaceAllString(name, "-"))
}

var runs = regexp.MustCompile(`[-_.]+`)

// ParseName validates a project name (PEP 508) and normalizes it (PEP 503).
func (Rules) ParseName(s string) (trove.Name, error) {
	if len(s) > MaxNameLen || !namePattern.MatchString(s) {
		return "", fmt.Errorf("project name %q is not valid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit", s)
	}
	return trove.Name(Normalize(s)), nil
}

// VersionKey validates a PEP 440 version and returns its canonical form
// with trailing zeros of the release segment dropped (packaging's
// canonicalize_version): 1.0 and 1.0.0 are the same release. Local
// versions (+local) cannot be published to an index (PEP 440).
func (Rules) VersionKey(v string) (string, error) {
	pv, err := ParseVersion(v)
	if err != nil {
		return "", err
	}
	if pv.Local() != "" {
		return "", fmt.Errorf("version %q has a local version label (+%s), which an index does not accept", v, pv.Local())
	}
	return canonical(pv.String()), nil
}

// ParseVersion parses a PEP 440 version.
func ParseVersion(v string) (pep440.Version, error) {
	if len(v) > 128 || strings.TrimSpace(v) != v {
		return pep440.Version{}, fmt.Errorf("version %q is not a valid PEP 440 version", v)
	}
	pv, err := pep440.Parse(v)
	if err != nil {
		return pep440.Version{}, fmt.Errorf("version %q is not a valid PEP 440 version like 1.0, 2.1.3rc1 or 1.0.post1", v)
	}
	return pv, nil
}

var releaseSegment = regexp.MustCompile(`^(\d+!)?(\d+(?:\.\d+)*)(.*)$`)

// canonical strips trailing ".0"s from the release segment of a
// normalized version.
func canonical(norm string) string {
	m := releaseSegment.FindStringSubmatch(norm)
	if m == nil {
		return norm
	}
	rel := m[2]
	for strings.HasSuffix(rel, ".0") {
		rel = strings.TrimSuffix(rel, ".0")
	}
	return m[1] + rel + m[3]
}

// Skeleton extends warehouse's "ultranormalized" name (no '.', '_' or
// '-', and 'l', 'i' as '1', 'o' as '0', so that "req-uests" collides with
// "requests", and "pi11ow" with "pillow"): the name is first taken to its
// case-folded confusable skeleton (UTS #39, internal/confusable), and the
// ASCII sequences rn and m, vv and w, cl and d are folded together, as
// npm's are, so that "nurnpy" collides with "numpy".
func (Rules) Skeleton(n trove.Name) string {
	s := strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.':
			return -1
		}
		return r
	}, confusable.Skeleton(string(n)))
	return strings.Map(func(r rune) rune {
		switch r {
		case 'l', 'i':
			return '1'
		case 'o':
			return '0'
		}
		return r
	}, asciiConfusables.Replace(s))
}

// asciiConfusables fold sequences of ASCII characters that read alike.
var asciiConfusables = strings.NewReplacer("rn", "m", "vv", "w", "cl", "d")

// Fold implements access.Namer: names are compared normalized (PEP 503),
// so a scope pattern "pypi:Alice_Proj*" means the projects alice-proj….
func (Rules) Fold(name string) string { return Normalize(name) }

// Satisfies implements registry.Constrainer with PEP 440 specifiers ("" is
// any version). Like pip, it admits more pre-releases than it might, which
// errs towards keeping a version others may depend on.
func (Rules) Satisfies(version, constraint string) (bool, error) {
	if strings.TrimSpace(constraint) == "" {
		return true, nil
	}
	v, err := ParseVersion(version)
	if err != nil {
		return false, err
	}
	ss, err := pep440.NewSpecifiers(constraint, pep440.WithPreRelease(true))
	if err != nil {
		return false, err
	}
	return ss.Check(v), nil
}
