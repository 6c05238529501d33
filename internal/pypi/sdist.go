package pypi

import (
	"fmt"
	"io"
	"strings"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/trove"
)

// readSdist checks an sdist's archive, a .tar.gz or .zip (ext) whose
// top-level directory must be root, and returns root/PKG-INFO.
func readSdist(r io.ReaderAt, size int64, ext, root string) ([]byte, error) {
	if ext != ".zip" {
		return readSdistTar(r, size, root)
	}
	z, err := archive.OpenZip(r, size, archive.DefaultLimits())
	if err != nil {
		return nil, err
	}
	for _, e := range z.Entries() {
		if err := underRoot(e.Name, root); err != nil {
			return nil, err
		}
	}
	return z.ReadFile(root+"/PKG-INFO", MaxMetadataBytes)
}

// underRoot checks that an sdist's entry is in its one top-level directory.
func underRoot(name, root string) error {
	if name != root && !strings.HasPrefix(name, root+"/") {
		return invalid("entry %q is outside the sdist's top-level directory %s/; an sdist holds exactly one directory named {name}-{version}", clip(name, 100), root)
	}
	return nil
}

// readSdistTar reads a .tar.gz sdist whose top-level directory is root.
func readSdistTar(r io.ReaderAt, size int64, root string) ([]byte, error) {
	var pkgInfo []byte
	err := archive.WalkTarGz(io.NewSectionReader(r, 0, size), archive.DefaultLimits(), func(e archive.Entry, r io.Reader) error {
		if err := underRoot(e.Name, root); err != nil {
			return err
		}
		if e.Dir || e.Name != root+"/PKG-INFO" {
			return nil
		}
		if e.Size > MaxMetadataBytes {
			return trove.Error(trove.ErrTooLarge, "%s is larger than %d bytes", e.Name, MaxMetadataBytes)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("reading %s: %w", e.Name, err)
		}
		pkgInfo = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if pkgInfo == nil {
		return nil, invalid("the sdist has no %s/PKG-INFO", root)
	}
	return pkgInfo, nil
}
