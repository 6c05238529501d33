package pypi

import (
	"fmt"
	"regexp"
	"strings"
)

// Distribution kinds, as the upload form's filetype names them.
const (
	kindSdist = "sdist"
	kindWheel = "bdist_wheel"
)

// MaxFilenameLen bounds distribution filenames.
const MaxFilenameLen = 255

// A distFile is what a distribution's filename says about it.
type distFile struct {
	Kind    string // kindSdist or kindWheel
	Name    string // the project name as written (escaped in wheels)
	Version string // as written
	Ext     string // ".tar.gz", ".zip" or ".whl"
	// Wheel tags (binary distribution format spec).
	Build, Python, ABI, Platform string
}

var (
	// A wheel's name is escaped: every run of '-', '_', '.' became '_'.
	// Tools differ in case and dots, so both are allowed and compared
	// after normalization.
	wheelName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?$`)
	wheelTag  = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	buildTag  = regexp.MustCompile(`^[0-9][A-Za-z0-9_.]*$`)
)

// parseFilename parses a distribution filename (a wheel, or an sdist in
// .tar.gz or .zip form) and returns every way of reading it. A wheel has
// one. An sdist's name may contain '-' (legacy sdists are not escaped),
// so "a-b-1.0.tar.gz" could be a-b 1.0 or, were "b-1.0" a version, a
// b-1.0; callers pick the reading that matches what they know.
func parseFilename(fn string) ([]distFile, error) {
	if fn == "" || len(fn) > MaxFilenameLen {
		return nil, fmt.Errorf("filename %q: want 1 to %d characters", fn, MaxFilenameLen)
	}
	for i := 0; i < len(fn); i++ {
		if c := fn[i]; c <= ' ' || c >= 0x7f || c == '/' || c == '\\' || c == '%' || c == '#' || c == '?' {
			return nil, fmt.Errorf("filename %q: contains %q; distribution filenames are ASCII letters, digits and . _ - ! +", fn, c)
		}
	}
	switch {
	case strings.HasSuffix(fn, ".whl"):
		d, err := parseWheelFilename(fn)
		if err != nil {
			return nil, err
		}
		return []distFile{d}, nil
	case strings.HasSuffix(fn, ".tar.gz"):
		return parseSdistFilename(fn, ".tar.gz")
	case strings.HasSuffix(fn, ".zip"):
		return parseSdistFilename(fn, ".zip")
	}
	return nil, fmt.Errorf("filename %q: not a wheel (.whl) or an sdist (.tar.gz, or .zip for old sdists); other formats are not accepted", fn)
}

// parseWheelFilename parses
// {distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl.
func parseWheelFilename(fn string) (distFile, error) {
	parts := strings.Split(strings.TrimSuffix(fn, ".whl"), "-")
	d := distFile{Kind: kindWheel, Ext: ".whl"}
	switch len(parts) {
	case 5:
		d.Name, d.Version, d.Python, d.ABI, d.Platform = parts[0], parts[1], parts[2], parts[3], parts[4]
	case 6:
		d.Name, d.Version, d.Build, d.Python, d.ABI, d.Platform = parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
		if !buildTag.MatchString(d.Build) {
			return distFile{}, fmt.Errorf("wheel filename %q: build tag %q must start with a digit", fn, d.Build)
		}
	default:
		return distFile{}, fmt.Errorf("wheel filename %q: want {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl, with '-' in the name escaped as '_'", fn)
	}
	if !wheelName.MatchString(d.Name) {
		return distFile{}, fmt.Errorf("wheel filename %q: %q is not an escaped project name", fn, d.Name)
	}
	if _, err := ParseVersion(d.Version); err != nil {
		return distFile{}, fmt.Errorf("wheel filename %q: %w", fn, err)
	}
	for _, tag := range []string{d.Python, d.ABI, d.Platform} {
		if !wheelTag.MatchString(tag) {
			return distFile{}, fmt.Errorf("wheel filename %q: %q is not a valid compatibility tag", fn, tag)
		}
	}
	return d, nil
}

// parseSdistFilename parses {name}-{version}{ext}, returning every split
// of the stem at a '-' into a valid project name and a valid version.
func parseSdistFilename(fn, ext string) ([]distFile, error) {
	stem := strings.TrimSuffix(fn, ext)
	var out []distFile
	for i := 0; i < len(stem); i++ {
		if stem[i] != '-' {
			continue
		}
		name, version := stem[:i], stem[i+1:]
		if _, err := (Rules{}).ParseName(name); err != nil {
			continue
		}
		if _, err := ParseVersion(version); err != nil {
			continue
		}
		out = append(out, distFile{Kind: kindSdist, Name: name, Version: version, Ext: ext})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sdist filename %q: want {name}-{version}%s with a valid project name and PEP 440 version", fn, ext)
	}
	return out, nil
}

// matchFilename returns the reading of the filename that names the
// project name and version (compared normalized, PEP 503 and PEP 440), or
// an error saying how they differ.
func matchFilename(fn, name, version string) (distFile, error) {
	ds, err := parseFilename(fn)
	if err != nil {
		return distFile{}, err
	}
	key, err := (Rules{}).VersionKey(version)
	if err != nil {
		return distFile{}, err
	}
	for _, d := range ds {
		if Normalize(d.Name) != Normalize(name) {
			continue
		}
		if k, err := (Rules{}).VersionKey(d.Version); err == nil && k == key {
			return d, nil
		}
	}
	d := ds[len(ds)-1]
	return distFile{}, fmt.Errorf("filename %s names %s %s, but the file's metadata says %s %s", fn, d.Name, d.Version, name, version)
}
