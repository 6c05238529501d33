package pypi

import (
	"fmt"
	"io"
	"strings"
)

// Identify returns the project name and version of a distribution file
// as an upload would find them: from its core metadata (a wheel's METADATA,
// an sdist's PKG-INFO), checked against the file name. trove scan uses it
// to name the files it scans.
func Identify(r io.ReaderAt, size int64, filename string) (name, version string, err error) {
	ds, err := parseFilename(filename)
	if err != nil {
		return "", "", invalid("%w", err)
	}
	_, md, err := distMetadata(r, size, filename, ds[0])
	if err != nil {
		return "", "", err
	}
	return md.Name(), md.Version(), nil
}

// distMetadata reads and parses the core metadata of a distribution file
// and checks that its file name names the metadata's project and version.
func distMetadata(r io.ReaderAt, size int64, fn string, d distFile) ([]byte, *coreMetadata, error) {
	var raw []byte
	var err error
	if d.Kind == kindWheel {
		raw, err = readWheel(r, size, d)
	} else {
		raw, err = readSdist(r, size, d.Ext, strings.TrimSuffix(fn, d.Ext))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", fn, err)
	}
	md, err := parseMetadata(raw)
	if err != nil {
		return nil, nil, invalid("%s: %w", fn, err)
	}
	if _, err := matchFilename(fn, md.Name(), md.Version()); err != nil {
		return nil, nil, invalid("%w", err)
	}
	return raw, md, nil
}
