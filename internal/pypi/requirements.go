package pypi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/lockfile"
)

// ErrNoHash reports a requirement without a --hash option: there is no
// file to verify. pip-compile --generate-hashes (pip-tools) writes
// requirements files with every hash.
var ErrNoHash = errors.New("no --hash=sha256:… option")

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
	if len(data) > lockfile.MaxSize {
		return nil, fmt.Errorf("requirements file larger than %d bytes", lockfile.MaxSize)
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

// Requirements reads requirements files in pip's hash-checking mode for
// trove verify (lockfile.Format): every --hash of every pinned
// requirement must be a file the log records for that version.
type Requirements struct{}

// Name returns "requirements".
func (Requirements) Name() string { return "requirements" }

// Match reports whether base is a .txt file.
func (Requirements) Match(base string) bool { return strings.HasSuffix(base, ".txt") }

// Read returns the pinned requirements. Lines it cannot verify are
// failures; requirements without hashes are one failure naming the tool
// that writes them.
func (Requirements) Read(data []byte, _ string) (*lockfile.Report, error) {
	reqs, err := ParseRequirements(data)
	r := &lockfile.Report{}
	var noHash []string
	for _, e := range unjoin(err) {
		if errors.Is(e, ErrNoHash) {
			noHash = append(noHash, e.Error())
			continue
		}
		r.Fails = append(r.Fails, lockfile.Failure{Summary: e.Error(), Count: 1})
	}
	if len(noHash) > 0 {
		f := lockfile.Failure{Count: len(noHash), Details: noHash,
			Summary: fmt.Sprintf("%d requirements have no --hash=sha256:… option, so there is no file to verify for them:", len(noHash))}
		if len(reqs) == 0 {
			f.Summary = "no requirement has a --hash=sha256:… option: it is not a hash-checked requirements file, so there is no file to verify:"
		}
		r.Fails = append(r.Fails, f)
		r.Hint = "write requirements with hashes using pip-compile --generate-hashes (from pip-tools: pip install pip-tools), " +
			"or uv pip compile --generate-hashes; pip install --require-hashes then checks them at every install too"
	}
	for _, q := range reqs {
		p := lockfile.Pin{Ecosystem: "pypi", Name: q.Name, Version: q.Version}
		for _, h := range q.SHA256 {
			p.Files = append(p.Files, lockfile.Digest{SHA256: h, Where: fmt.Sprintf("--hash on line %d", q.Line)})
		}
		r.Pins = append(r.Pins, p)
	}
	return r, nil
}

// unjoin returns the errors an errors.Join made, or err alone.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
