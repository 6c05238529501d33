package pypi

import (
	"io"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/trove"
)

// Limits on the files Trove reads from a distribution; the archive itself
// is read within archive.DefaultLimits.
const (
	// MaxMetadataBytes bounds a METADATA or PKG-INFO file.
	MaxMetadataBytes = 4 << 20
	// MaxRecordBytes bounds a wheel's RECORD file.
	MaxRecordBytes = 32 << 20
	// maxWheelFileBytes bounds a wheel's WHEEL file.
	maxWheelFileBytes = 64 << 10
)

// readWheel checks a wheel, whose filename was parsed as d: the archive
// (internal/archive), its one .dist-info directory, WHEEL, and RECORD
// against every file. It returns .dist-info/METADATA byte-exact.
func readWheel(r io.ReaderAt, size int64, d distFile) ([]byte, error) {
	z, err := archive.OpenZip(r, size, archive.DefaultLimits())
	if err != nil {
		return nil, err
	}
	dir, err := distInfoDir(z, d)
	if err != nil {
		return nil, err
	}
	wheel, err := z.ReadFile(dir+"/WHEEL", maxWheelFileBytes)
	if err != nil {
		return nil, err
	}
	if err := checkWheelFile(wheel); err != nil {
		return nil, invalid("%s/WHEEL: %v", dir, err)
	}
	md, err := z.ReadFile(dir+"/METADATA", MaxMetadataBytes)
	if err != nil {
		return nil, err
	}
	if err := checkRecord(z, dir); err != nil {
		return nil, err
	}
	return md, nil
}

// distInfoDir returns the wheel's one top-level .dist-info directory,
// which must be named after the file.
func distInfoDir(z *archive.Zip, d distFile) (string, error) {
	var dirs []string
	for _, e := range z.Entries() {
		top, _, _ := strings.Cut(e.Name, "/")
		if strings.HasSuffix(top, ".dist-info") && (top != e.Name || e.Dir) && !slices.Contains(dirs, top) {
			dirs = append(dirs, top)
		}
	}
	switch len(dirs) {
	case 0:
		return "", invalid("the wheel has no .dist-info directory")
	case 1:
	default:
		return "", invalid("the wheel has %d .dist-info directories; it must have exactly one", len(dirs))
	}
	dir := dirs[0]
	name, version, ok := strings.Cut(strings.TrimSuffix(dir, ".dist-info"), "-")
	if !ok || Normalize(name) != Normalize(d.Name) || !sameVersion(version, d.Version) {
		return "", invalid("the wheel's %s directory does not match its filename (want %s-%s.dist-info)", dir, d.Name, d.Version)
	}
	return dir, nil
}

// checkWheelFile checks that a WHEEL file declares a Wheel-Version 1.x,
// the only major version installers accept.
func checkWheelFile(b []byte) error {
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "Wheel-Version") {
			if v = strings.TrimSpace(v); v != "1" && !strings.HasPrefix(v, "1.") {
				return trove.Error(trove.ErrInvalid, "Wheel-Version %q is not supported (want 1.x)", clip(v, 20))
			}
			return nil
		}
	}
	return trove.Error(trove.ErrInvalid, "no Wheel-Version")
}

func sameVersion(a, b string) bool {
	ka, err1 := (Rules{}).VersionKey(a)
	kb, err2 := (Rules{}).VersionKey(b)
	return err1 == nil && err2 == nil && ka == kb
}
