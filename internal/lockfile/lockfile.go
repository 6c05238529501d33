// Package lockfile parses the files in which clients pin dependencies by
// digest: npm's package-lock.json (and npm-shrinkwrap.json), pip's
// requirements.txt in hash-checking mode, and Go's go.sum. The parsers
// take untrusted bytes, never fetch anything, and are fuzzed.
package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxSize bounds the lockfiles the parsers accept.
const MaxSize = 64 << 20

// ErrNoHash reports a requirement without a --hash option: there is no
// file to verify. pip-compile --generate-hashes (pip-tools) writes
// requirements files with every hash.
var ErrNoHash = errors.New("no --hash=sha256:… option")

// A Format is a lockfile format.
type Format string

// The formats.
const (
	PackageLock  Format = "package-lock" // package-lock.json, npm-shrinkwrap.json
	Requirements Format = "requirements" // requirements.txt
	GoSum        Format = "go.sum"
)

// Detect returns the format of a lockfile by its base name.
func Detect(base string) (Format, error) {
	switch {
	case base == "package-lock.json" || base == "npm-shrinkwrap.json":
		return PackageLock, nil
	case base == "go.sum":
		return GoSum, nil
	case strings.HasSuffix(base, ".txt"):
		return Requirements, nil
	}
	return "", fmt.Errorf("cannot tell the format of %q by its name: want package-lock.json, npm-shrinkwrap.json, *.txt or go.sum", base)
}

// An NPMPackage is an entry of a package-lock.json "packages" object.
type NPMPackage struct {
	Path      string // the key: "node_modules/@scope/name"
	Name      string // the package name, "" for the root project
	Version   string
	Resolved  string // where it was downloaded from ("" for workspaces, bundled deps)
	Integrity string // "sha512-<base64>" (Subresource Integrity; may list several)
	Link      bool   // a symbolic link to a local directory
	InBundle  bool   // shipped inside another package's tarball
}

// FromRegistry reports whether the package was installed from a registry
// (rather than being a workspace member, a link or a bundled dependency),
// whether or not the lockfile recorded where from.
func (p NPMPackage) FromRegistry() bool {
	return !p.Link && !p.InBundle && p.Name != "" && p.Version != ""
}

// ParsePackageLock parses a package-lock.json or npm-shrinkwrap.json of
// lockfileVersion 2 or 3 and returns its packages other than the root, in
// the order of their paths.
func ParsePackageLock(data []byte) ([]NPMPackage, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("package-lock.json larger than %d bytes", MaxSize)
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
	var out []NPMPackage
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
		out = append(out, NPMPackage{Path: path, Name: name, Version: p.Version, Resolved: p.Resolved, Integrity: p.Integrity, Link: p.Link, InBundle: p.InBundle})
	}
	slices.SortFunc(out, func(a, b NPMPackage) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// A Requirement is a pinned requirement of a requirements.txt.
type Requirement struct {
	Line    int    // where it starts, from 1
	Name    string // as written, without extras
	Version string // the == pin
	SHA256  []string
}

// ParseRequirements parses a requirements.txt in pip's hash-checking mode:
// every requirement must be pinned with == and carry --hash=sha256:…
// options. Comments, blank lines, backslash continuations, environment
// markers and extras are understood; other options (--index-url, …) are
// skipped; -r and -c includes are refused, as not followed.
func ParseRequirements(data []byte) ([]Requirement, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("requirements file larger than %d bytes", MaxSize)
	}
	var out []Requirement
	var errs []error
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		l := lines[i]
		// Join continuations: a line ending in a backslash.
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + " " + lines[i]
		}
		l = strings.TrimSuffix(l, "\\")
		if c := commentStart(l); c >= 0 {
			l = l[:c]
		}
		l = strings.TrimSpace(strings.ReplaceAll(l, "\t", " "))
		if l == "" {
			continue
		}
		r, err := parseRequirement(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", start, err))
			continue
		}
		if r == nil {
			continue
		}
		r.Line = start
		out = append(out, *r)
	}
	return out, errors.Join(errs...)
}

// commentStart returns where a comment starts: a "#" at the start of the
// line or after whitespace (pip's rule), or -1.
func commentStart(l string) int {
	for i := 0; i < len(l); i++ {
		if l[i] == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// parseRequirement parses one logical line; an option line returns nil, nil.
func parseRequirement(l string) (*Requirement, error) {
	if strings.HasPrefix(l, "-") {
		f := strings.Fields(l)[0]
		switch {
		case f == "-r" || f == "-c" || strings.HasPrefix(f, "--requirement") || strings.HasPrefix(f, "--constraint"):
			return nil, fmt.Errorf("%q: included files are not followed; verify them separately", l)
		case f == "-e" || strings.HasPrefix(f, "--editable"):
			return nil, fmt.Errorf("%q: an editable requirement is not from an index and cannot be verified", l)
		}
		return nil, nil // --index-url, --require-hashes, …
	}
	spec, opts, _ := strings.Cut(l, " --")
	if i := strings.IndexAny(spec, "\t "); i >= 0 && !strings.Contains(spec[:i], "==") {
		// "name == 1.0": whitespace around the operator.
		spec = strings.Join(strings.Fields(spec), "")
	}
	if m, _, ok := strings.Cut(spec, ";"); ok {
		spec = m // environment marker
	}
	spec = strings.TrimSpace(spec)
	name, version, ok := strings.Cut(spec, "==")
	if !ok || strings.HasPrefix(version, "=") {
		return nil, fmt.Errorf("%q is not pinned to one version with ==; hash-checked requirements pin every package (name==version --hash=sha256:…)", spec)
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i] // extras
	}
	name, version = strings.TrimSpace(name), strings.TrimSpace(version)
	if name == "" || version == "" || strings.ContainsAny(name+version, " \t,<>!~=*@/") {
		return nil, fmt.Errorf("%q: want name==version", spec)
	}
	r := &Requirement{Name: name, Version: version}
	if opts != "" {
		opts = "--" + opts
	}
	f := strings.Fields(opts)
	for j := 0; j < len(f); j++ {
		o := f[j]
		if o == "--hash" && j+1 < len(f) {
			j++
			o = "--hash=" + f[j]
		}
		h, ok := strings.CutPrefix(o, "--hash=")
		if !ok {
			continue // --config-settings and others: not about digests
		}
		alg, hex, _ := strings.Cut(h, ":")
		if alg != "sha256" {
			return nil, fmt.Errorf("%s: hash %q: the log records sha256 digests only; pin with --hash=sha256:…", spec, h)
		}
		if !isHex64(hex) {
			return nil, fmt.Errorf("%s: hash %q is not 64 hex digits", spec, h)
		}
		r.SHA256 = append(r.SHA256, strings.ToLower(hex))
	}
	if len(r.SHA256) == 0 {
		return nil, fmt.Errorf("%s has %w: without a hash there is no file to verify", spec, ErrNoHash)
	}
	return r, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// A GoSumLine is a line of a go.sum file.
type GoSumLine struct {
	Line    int
	Module  string
	Version string // without "/go.mod"
	GoMod   bool   // the go.mod file's hash rather than the module zip's
	Hash    string // "h1:…"
	Text    string // the line, verbatim, as a publish record carries it
}

// ParseGoSum parses a go.sum file: lines "<module> <version>[/go.mod] <hash>".
func ParseGoSum(data []byte) ([]GoSumLine, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("go.sum larger than %d bytes", MaxSize)
	}
	var out []GoSumLine
	for i, l := range bytes.Split(data, []byte("\n")) {
		text := strings.TrimSuffix(string(l), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 || strings.Join(f, " ") != text {
			return nil, fmt.Errorf("go.sum line %d: want \"<module> <version>[/go.mod] <hash>\", separated by single spaces", i+1)
		}
		v, gomod := strings.CutSuffix(f[1], "/go.mod")
		if v == "" || !strings.Contains(f[2], ":") {
			return nil, fmt.Errorf("go.sum line %d: malformed version or hash", i+1)
		}
		out = append(out, GoSumLine{Line: i + 1, Module: f[0], Version: v, GoMod: gomod, Hash: f[2], Text: text})
	}
	return out, nil
}
