package scan

import (
	"io"
	"strings"

	"github.com/trove-dev/trove/internal/archive"
)

// Walk calls fn with each file of f: the members of an npm tarball, a
// wheel, an sdist (.tar.gz, .tar or .zip) or a Go module zip by their
// names, anything else (a go.mod, a file that is not an archive) as
// itself. Archives are read with archive.DefaultLimits, the limits the
// adapters applied at upload, so a scanner reads no more than the
// upload's own checks did; archives inside archives are not opened. An
// archive that cannot be read within those limits is an error wrapping
// trove.ErrInvalid or trove.ErrTooLarge; fn's errors are returned as
// they are. fn's reader is valid until it returns, and need not be read
// to its end.
func Walk(f File, fn func(name string, r io.Reader) error) error {
	lim := archive.DefaultLimits()
	each := func(e archive.Entry, r io.Reader) error {
		if e.Dir {
			return nil
		}
		return fn(e.Name, r)
	}
	whole := io.NewSectionReader(f.Content, 0, f.Size)
	name := strings.ToLower(f.Name)
	switch {
	case strings.HasSuffix(name, ".tgz") || strings.HasSuffix(name, ".tar.gz"):
		return archive.WalkTarGz(whole, lim, each)
	case strings.HasSuffix(name, ".tar"):
		return archive.WalkTar(whole, lim, each)
	case strings.HasSuffix(name, ".zip") || strings.HasSuffix(name, ".whl"):
		z, err := archive.OpenZip(f.Content, f.Size, lim)
		if err != nil {
			return err
		}
		return z.Walk(each)
	}
	return fn(f.Name, whole)
}
