package npm

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/lockfile"
)

// A LockedPackage is an entry of a package-lock.json "packages" object.
type LockedPackage struct {
	Path      string // the key: "node_modules/@scope/name"
	Name      string // the package name, "" for the root project
	Version   string
	Resolved  string // where it was downloaded from ("" for workspaces, bundled deps)
	Integrity string // "sha512-<base64>" (Subresource Integrity; may list several)
	Link      bool   // a symbolic link to a local directory
	InBundle  bool   // shipped inside another package's tarball
}

// FromRegistry reports whether the package was installed from a registry
// into node_modules (rather than being a workspace member, a link or a
// bundled dependency), whether or not the lockfile recorded where from.
func (p LockedPackage) FromRegistry() bool {
	return !p.Link && !p.InBundle && p.Name != "" && p.Version != "" && strings.Contains(p.Path, "node_modules/")
}

// ParsePackageLock parses a package-lock.json or npm-shrinkwrap.json of
// lockfileVersion 2 or 3 and returns its packages other than the root, in
// the order of their paths.
func ParsePackageLock(data []byte) ([]LockedPackage, error) {
	if len(data) > lockfile.MaxSize {
		return nil, fmt.Errorf("package-lock.json larger than %d bytes", lockfile.MaxSize)
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Name      string `json:"name"`
			Version   string `json:"version"`
			Resolved  string `json:"resolved"`
			Integrity string `json:"integrity"`
			Link      bool   `json:"link"`
			InBundle  bool   `json:"inBundle"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, fmt.Errorf("parsing package-lock.json: %w", err)
	}
	if lock.LockfileVersion < 2 || lock.Packages == nil {
		return nil, fmt.Errorf("package-lock.json has lockfileVersion %d without \"packages\": regenerate it with npm 7 or later (lockfileVersion 2 or 3)", lock.LockfileVersion)
	}
	var out []LockedPackage
	for path, p := range lock.Packages {
		if path == "" {
			continue // the project itself
		}
		name := p.Name
		if name == "" {
			i := strings.LastIndex(path, "node_modules/")
			if i < 0 {
				// A workspace member's directory: not from a registry.
				name = ""
			} else {
				name = path[i+len("node_modules/"):]
			}
		}
		out = append(out, LockedPackage{Path: path, Name: name, Version: p.Version, Resolved: p.Resolved, Integrity: p.Integrity, Link: p.Link, InBundle: p.InBundle})
	}
	slices.SortFunc(out, func(a, b LockedPackage) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// PackageLock reads package-lock.json and npm-shrinkwrap.json files for
// trove verify (lockfile.Format): every package resolved from the
// registry is downloaded, and its SHA-512 must match the lockfile's
// integrity and its SHA-256 a file the log records.
type PackageLock struct{}

// Name returns "package-lock".
func (PackageLock) Name() string { return "package-lock" }

// Match reports whether base is package-lock.json or npm-shrinkwrap.json.
func (PackageLock) Match(base string) bool {
	return base == "package-lock.json" || base == "npm-shrinkwrap.json"
}

// Read returns the packages of a lockfile resolved from registry; with
// registry "" those resolved from any registry (trove mirror).
func (PackageLock) Read(data []byte, registry string) (*lockfile.Report, error) {
	pkgs, err := ParsePackageLock(data)
	if err != nil {
		return nil, err
	}
	r := &lockfile.Report{}
	var unresolved []string // from a registry, without a "resolved" URL
	for _, p := range pkgs {
		switch {
		case p.Link:
			r.Notes = append(r.Notes, p.Path+": a link to a local directory, not verified")
		case p.Resolved == "" && p.FromRegistry():
			unresolved = append(unresolved, p.Name+"@"+p.Version)
		case p.Resolved == "":
			r.Notes = append(r.Notes, p.Path+": not downloaded from a registry (workspace or bundled), not verified")
		case registry != "" && !strings.HasPrefix(p.Resolved, registry+"/"):
			r.Notes = append(r.Notes, fmt.Sprintf("%s: resolved from %s, not from %s, not verified", p.Path, p.Resolved, registry))
		default:
			r.Pins = append(r.Pins, pin(p))
		}
	}
	if len(unresolved) > 0 {
		r.Fails = append(r.Fails, lockfile.Failure{Count: len(unresolved),
			Summary: fmt.Sprintf("%d packages have no \"resolved\" URL, so there is no tarball to download and verify: %s", len(unresolved), abbreviate(unresolved, 5))})
		r.Hint = "npm leaves \"resolved\" out when omit-lockfile-registry-resolved is set: remove that setting " +
			"(npm config delete omit-lockfile-registry-resolved, and from the project's .npmrc), then write the lockfile again with " +
			"rm package-lock.json && npm install --package-lock-only (review the diff: versions may move within your ranges)"
		return r, nil
	}
	if len(r.Pins) == 0 && len(pkgs) > 0 {
		return nil, &lockfile.HintedError{Err: fmt.Errorf("no package was resolved from %s, so none was verified", registry),
			Hint: "give the registry the lockfile's \"resolved\" URLs point at with --url"}
	}
	return r, nil
}

// pin returns what a resolved package pins: its tarball and its integrity.
func pin(p LockedPackage) lockfile.Pin {
	out := lockfile.Pin{Ecosystem: "npm", Name: p.Name, Version: p.Version, Download: p.Resolved}
	for _, i := range strings.Fields(p.Integrity) {
		if s, ok := strings.CutPrefix(i, "sha512-"); ok {
			out.SHA512 = s
		}
	}
	return out
}

// abbreviate lists the first n items and how many more there are.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
