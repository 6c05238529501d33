package npm

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/trove-dev/trove/internal/confusable"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"golang.org/x/mod/semver"
)

// Rules are npm's naming and versioning rules (validate-npm-package-name,
// node-semver).
type Rules struct{}

// MaxNameLen is the longest package name npm accepts.
const MaxNameLen = 214

// Ecosystem returns trove.NPM.
func (Rules) Ecosystem() trove.Ecosystem { return trove.NPM }

// ParseName validates a package name the way npm does for new packages:
// lowercase, at most 214 characters, URL-safe, not starting with '.' or
// '_', optionally scoped as @scope/name. npm names are case-sensitive
// and need no further normalization.
func (Rules) ParseName(s string) (trove.Name, error) {
	if s == "" {
		return "", fmt.Errorf("package name is empty")
	}
	if len(s) > MaxNameLen {
		return "", fmt.Errorf("package name %q is longer than %d characters", s, MaxNameLen)
	}
	if strings.TrimSpace(s) != s {
		return "", fmt.Errorf("package name %q has leading or trailing spaces", s)
	}
	if strings.ToLower(s) != s {
		return "", fmt.Errorf("package name %q has uppercase letters; npm names are lowercase", s)
	}
	base := s
	if strings.HasPrefix(s, "@") {
		scope, name, ok := strings.Cut(s[1:], "/")
		if !ok || scope == "" || name == "" || strings.Contains(name, "/") {
			return "", fmt.Errorf("package name %q: a scoped name is @scope/name", s)
		}
		if err := checkPart(s, scope); err != nil {
			return "", err
		}
		base = name
	}
	if err := checkPart(s, base); err != nil {
		return "", err
	}
	if sk := skeletonPart(base); sk == skeletonPart("node_modules") || sk == skeletonPart("favicon.ico") {
		return "", fmt.Errorf("package name %q is reserved (node_modules and favicon.ico, and names that look like them)", s)
	}
	return trove.Name(s), nil
}

func checkPart(full, part string) error {
	if strings.HasPrefix(part, ".") || strings.HasPrefix(part, "_") {
		return fmt.Errorf("package name %q: a name cannot start with '.' or '_'", full)
	}
	if url.PathEscape(part) != part || strings.ContainsAny(part, "~'!()*:@$&+,;=") {
		return fmt.Errorf("package name %q: use only lowercase letters, digits, '-', '_' and '.'", full)
	}
	return nil
}

// semverPattern is SemVer 2.0.0 without a "v" prefix.
var semverPattern = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// MaxVersionLen is the longest version npm accepts (node-semver MAX_LENGTH).
const MaxVersionLen = 256

// VersionKey validates a SemVer 2.0.0 version and returns it without build
// metadata, the form npm publishes (semver.clean): 1.0.0+a and 1.0.0+b are
// the same release.
func (Rules) VersionKey(v string) (string, error) {
	if len(v) > MaxVersionLen || !semverPattern.MatchString(v) {
		return "", fmt.Errorf("version %q is not a valid semver version like 1.2.3 or 1.2.3-beta.1", v)
	}
	return strings.TrimPrefix(semver.Canonical("v"+v), "v"), nil
}

// Skeleton returns the key under which look-alike names collide: each part
// of the name (a scope, the name) as its case-folded confusable skeleton
// (UTS #39, internal/confusable: Cyrillic, Greek and fullwidth letters
// become the Latin ones they look like), without punctuation, and with
// ASCII characters that read alike folded together (0 and o, 1 and l; rn
// and m, vv and w, cl and d). So a new "reactdom" or "react-d0m" collides
// with an existing "react-dom", and "@acrne/lib" with "@acme/lib"; npm
// refuses such names too. For the lowercase ASCII names npm accepts, the
// Unicode step changes nothing the ASCII folds do not: it guards names
// that reach the rules by other ways.
func (Rules) Skeleton(n trove.Name) string {
	scope, name, scoped := strings.Cut(strings.TrimPrefix(string(n), "@"), "/")
	if !scoped {
		return skeletonPart(string(n))
	}
	return "@" + skeletonPart(scope) + "/" + skeletonPart(name)
}

// confusables fold sequences of ASCII characters that read alike.
var confusables = strings.NewReplacer("rn", "m", "vv", "w", "cl", "d")

func skeletonPart(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.':
			return -1
		}
		return r
	}, confusable.Skeleton(s))
	return confusables.Replace(s)
}

// Namespace implements registry.Namespacer: a scoped name is in its scope,
// and the scope @alice belongs to the user alice if there is one.
func (Rules) Namespace(n trove.Name) registry.Namespace {
	scope, _, scoped := strings.Cut(string(n), "/")
	if !scoped || !strings.HasPrefix(scope, "@") {
		return registry.Namespace{}
	}
	return registry.Namespace{Key: scope, User: strings.TrimPrefix(scope, "@")}
}

// CompareVersions orders two valid versions by semver precedence.
func CompareVersions(a, b string) int {
	return semver.Compare("v"+a, "v"+b)
}

// Latest implements registry.Tagger: of the versions (of published, not
// yanked releases), latest is the highest that is not a prerelease, else
// the highest prerelease; "" when there are none.
func (Rules) Latest(versions []string) string {
	var best, bestPre string
	for _, v := range versions {
		pre := semver.Prerelease("v"+v) != ""
		switch {
		case pre && (bestPre == "" || CompareVersions(v, bestPre) > 0):
			bestPre = v
		case !pre && (best == "" || CompareVersions(v, best) > 0):
			best = v
		}
	}
	if best == "" {
		return bestPre
	}
	return best
}

// Fold implements access.Namer: npm names are already lowercase, and
// compared as they are.
func (Rules) Fold(name string) string { return name }
