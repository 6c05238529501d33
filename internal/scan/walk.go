package scan

import (
	"context"
	"io"
	"strings"

	"github.com/trove-dev/trove/internal/archive"
)

// Walk calls fn with each file of f: the members of an npm tarball, a
// wheel, an sdist (.tar.gz or .zip) or a Go module zip by their names,
// read with archive.DefaultLimits (the limits the adapters applied at
// upload), and any other file as itself under its own name. Archives
// inside archives are not opened. An archive that cannot be read within
// the limits is an error wrapping trove.ErrInvalid or trove.ErrTooLarge;
// an error of fn is returned as it is.
//
// Walk stops when ctx is done, before the next member and at the next
// read of the archive or of a member (ContextReader), with ctx's error:
// a scanner that reads through Walk is bounded by its deadline however
// large the archive is.
func Walk(ctx context.Context, f File, fn func(name string, r io.Reader) error) error {
	err := walk(ctx, f, fn)
	if cerr := ctx.Err(); cerr != nil {
		// Whatever the archive made of the failed read (an invalid
		// archive, to a scanner): the scan ran out of time.
		return cerr
	}
	return err
}

func walk(ctx context.Context, f File, fn func(name string, r io.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lim := archive.DefaultLimits()
	each := func(e archive.Entry, r io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Dir {
			return nil
		}
		return fn(e.Name, ContextReader(ctx, r))
	}
	whole := ContextReaderAt(ctx, f.Content)
	section := io.NewSectionReader(whole, 0, f.Size)
	name := strings.ToLower(f.Name)
	switch {
	case strings.HasSuffix(name, ".tgz") || strings.HasSuffix(name, ".tar.gz"):
		return archive.WalkTarGz(section, lim, each)
	case strings.HasSuffix(name, ".tar"):
		return archive.WalkTar(section, lim, each)
	case strings.HasSuffix(name, ".zip") || strings.HasSuffix(name, ".whl"):
		z, err := archive.OpenZip(whole, f.Size, lim)
		if err != nil {
			return err
		}
		return z.Walk(each)
	}
	return fn(f.Name, section)
}

// ContextReader returns a reader of r that fails with ctx's error once
// ctx is done.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return &ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ContextReaderAt returns a ReaderAt of r that fails with ctx's error
// once ctx is done.
func ContextReaderAt(ctx context.Context, r io.ReaderAt) io.ReaderAt { return &ctxReaderAt{ctx, r} }

type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c *ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}
