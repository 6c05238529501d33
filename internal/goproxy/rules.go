package goproxy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Rules are the Go module rules of golang.org/x/mod/module: module paths
// as the go command accepts them and canonical semantic versions.
type Rules struct{}

// Ecosystem returns trove.Go.
func (Rules) Ecosystem() trove.Ecosystem { return trove.Go }

// ParseName validates a module path (module.CheckPath). Module paths are
// case-sensitive, so the name is kept exactly as written.
func (Rules) ParseName(s string) (trove.Name, error) {
	if err := module.CheckPath(s); err != nil {
		return "", fmt.Errorf("module path %q is not valid: %v; a module path looks like example.com/name or example.com/name/v2 (its first element needs a dot)",
			s, unwrapPathError(err))
	}
	return trove.Name(s), nil
}

// unwrapPathError drops the path that module.InvalidPathError repeats.
func unwrapPathError(err error) error {
	var pe *module.InvalidPathError
	if errors.As(err, &pe) && pe.Err != nil {
		return pe.Err
	}
	return err
}

// VersionKey accepts only canonical semantic versions (v1.2.3,
// v1.2.3-pre, v2.0.0+incompatible, pseudo-versions): the version is its
// own key. Whether the version suits a module path (major version
// suffixes, +incompatible) is checked with the path, by CheckVersion.
func (Rules) VersionKey(v string) (string, error) {
	c := module.CanonicalVersion(v)
	switch {
	case c == "":
		return "", fmt.Errorf("version %q is not a semantic version; Go module versions look like v1.2.3 or v1.2.3-rc.1", v)
	case c != v:
		return "", fmt.Errorf("version %q is not canonical; use %q", v, c)
	}
	return v, nil
}

// Skeleton is the lowercased module path: two modules whose paths differ
// only in case cannot both exist (they would collide in module caches on
// case-insensitive file systems, and confuse people).
func (Rules) Skeleton(n trove.Name) string { return strings.ToLower(string(n)) }

// CheckVersion checks that version is canonical and allowed for the
// module path (module.Check): a /vN path needs vN.x.y versions, and v2+
// versions of a path without a suffix need +incompatible.
func CheckVersion(path, version string) error {
	if _, err := (Rules{}).VersionKey(version); err != nil {
		return err
	}
	if err := module.Check(path, version); err != nil {
		var ve *module.InvalidVersionError
		if errors.As(err, &ve) {
			return fmt.Errorf("version %s is not allowed for module %s: %v", version, path, ve.Err)
		}
		return fmt.Errorf("module %s version %s: %w", path, version, err)
	}
	// module.Check leaves these to the go command, which refuses them.
	if strings.HasSuffix(version, "+incompatible") {
		_, suffix, _ := module.SplitPathVersion(path)
		switch major := semver.Major(version); {
		case suffix != "":
			return fmt.Errorf("version %s is not allowed for module %s: +incompatible is only for paths without a major version suffix", version, path)
		case major == "v0" || major == "v1":
			return fmt.Errorf("version %s is not allowed for module %s: +incompatible is only for major versions v2 and later; use %s", version, path,
				strings.TrimSuffix(version, "+incompatible"))
		}
	}
	return nil
}

// Fold implements access.Namer: module paths keep their case, but no two
// modules may differ only in case (Skeleton), so scopes compare them in
// lower case.
func (Rules) Fold(name string) string { return strings.ToLower(name) }

// Namespace implements registry.Namespacer: a module's namespace is its
// path without the major version suffix, in lower case, in a tree: the
// owners of example.com/lib own example.com/lib/v2 and
// example.com/lib/util, and a module cannot be published at, below or
// above the path of someone else's.
func (Rules) Namespace(n trove.Name) registry.Namespace {
	prefix, _, ok := module.SplitPathVersion(string(n))
	if !ok {
		prefix = string(n)
	}
	return registry.Namespace{Key: strings.ToLower(prefix), Tree: true}
}

// Satisfies implements registry.Constrainer: a go.mod requires a module
// version exactly (minimal version selection builds with it unless
// another module requires a later one, and then that one is required).
func (Rules) Satisfies(version, constraint string) (bool, error) {
	return version == constraint, nil
}
