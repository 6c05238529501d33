package archive

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"strings"
)

// An Entry is a regular file or a directory of an archive.
type Entry struct {
	// Name is the entry's path, checked by [CheckName], without the
	// trailing slash of a directory.
	Name string
	Dir  bool
	// Size is a file's unpacked size; 0 for a directory.
	Size int64
}

// A WalkFunc is called for each entry, in archive order, with a reader of
// a file's bytes (empty for a directory) that is valid until it returns.
// Errors reading it wrap trove.ErrInvalid or trove.ErrTooLarge; a WalkFunc
// should return them wrapped (%w) so that they keep their category. Walks
// stop at the first error a WalkFunc returns and return it.
type WalkFunc func(e Entry, r io.Reader) error

// WalkTarGz checks a gzip-compressed tar archive read from r and calls fn
// for each file and directory. It reads r to the end.
func WalkTarGz(r io.Reader, lim Limits, fn WalkFunc) error {
	src := &counter{r: r}
	zr, err := gzip.NewReader(src)
	if err != nil {
		if src.err != nil {
			return src.err
		}
		return invalid("not a gzip-compressed tar archive (the data is not gzip-compressed: %v)", err)
	}
	defer zr.Close()
	return walkTar(&guard{r: zr, src: src, compressed: true, lim: lim}, fn)
}

// WalkTar is WalkTarGz for an uncompressed tar archive (the outer archive
// of a .gem, for one).
func WalkTar(r io.Reader, lim Limits, fn WalkFunc) error {
	src := &counter{r: r}
	return walkTar(&guard{r: src, src: src, lim: lim}, fn)
}

func walkTar(g *guard, fn WalkFunc) error {
	tr := tar.NewReader(g)
	w := &tarWalk{budget: budget{lim: g.lim}, names: newNameSet()}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) { // names are checked here
			return g.fail("not a valid tar archive", err)
		}
		e, ok, err := w.entry(hdr)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		var r io.Reader = tr
		if e.Dir {
			r = strings.NewReader("")
		}
		if err := fn(e, r); err != nil {
			return g.fail("", err)
		}
	}
	return g.drain()
}

// A tarWalk is the state of one tar walk.
type tarWalk struct {
	budget
	names *nameSet
}

// entry checks a header and returns the entry to hand out, if any.
func (w *tarWalk) entry(hdr *tar.Header) (Entry, bool, error) {
	if err := w.budget.entry(); err != nil {
		return Entry{}, false, err
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return Entry{}, false, checkGlobal(hdr)
	}
	if err := CheckName(hdr.Name, w.lim.NameLen); err != nil {
		return Entry{}, false, err
	}
	name := strings.TrimSuffix(hdr.Name, "/")
	if err := checkTarType(hdr); err != nil {
		return Entry{}, false, err
	}
	e := Entry{Name: name, Dir: hdr.Typeflag == tar.TypeDir}
	if !e.Dir {
		e.Size = hdr.Size
		if err := w.file(hdr.Name, hdr.Size); err != nil {
			return Entry{}, false, err
		}
	}
	return e, true, w.names.add(name, e.Dir)
}

// checkTarType refuses every entry but plain files and directories.
func checkTarType(hdr *tar.Header) error {
	name := clip(hdr.Name)
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeCont:
		if strings.HasSuffix(hdr.Name, "/") {
			return invalid("entry %q is a file whose name ends with a slash (a directory to some readers)", name)
		}
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return invalid("entry %q is a sparse file, which tar readers unpack differently", name)
			}
		}
		return nil
	case tar.TypeDir:
		if hdr.Size != 0 {
			return invalid("entry %q is a directory with %d bytes of data", name, hdr.Size)
		}
		return nil
	case tar.TypeSymlink:
		if escapes(hdr.Name, hdr.Linkname) {
			return invalid("entry %q is a symbolic link to %q, which points outside the archive; links are not allowed", name, clip(hdr.Linkname))
		}
		return invalid("entry %q is a symbolic link (to %q); links are not allowed", name, clip(hdr.Linkname))
	case tar.TypeLink:
		return invalid("entry %q is a hard link (to %q); links are not allowed", name, clip(hdr.Linkname))
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return invalid("entry %q is a device or FIFO; only files and directories are allowed", name)
	}
	return invalid("entry %q has the unsupported tar type %q; only files and directories are allowed", name, hdr.Typeflag)
}

// globalKeys are the PAX global records that change no entry's name, size,
// type or link in readers that apply global records to later entries.
var globalKeys = map[string]bool{"comment": true, "mtime": true, "atime": true, "ctime": true,
	"uid": true, "gid": true, "uname": true, "gname": true}

// checkGlobal checks a PAX global header, which Go's reader does not apply
// to later entries and others (Python's tarfile, node-tar) do.
func checkGlobal(hdr *tar.Header) error {
	for k := range hdr.PAXRecords {
		if !globalKeys[k] {
			return invalid("a PAX global header sets %q, which readers apply to later entries differently", clip(k))
		}
	}
	return nil
}

// A guard counts decompressed bytes and stops past the limits: the whole
// stream (entries, headers and what follows the end of the archive) may
// not exceed Unpacked plus the headers of Entries entries, nor the ratio.
type guard struct {
	r          io.Reader // the tar stream
	src        *counter  // the bytes given, compressed or not
	compressed bool
	lim        Limits
	n          int64
	err        error // the client's: a limit passed, or a broken gzip stream
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	budget := g.lim.Unpacked + int64(g.lim.Entries)*headerPerItem
	switch {
	case g.n > budget:
		g.err = tooLarge("the archive decompresses to more than %d bytes", budget)
	case g.compressed && g.lim.bomb(g.n, g.src.n):
		g.err = bombError("the archive", g.n, g.src.n, g.lim)
	case err != nil && err != io.EOF && g.compressed && g.src.err == nil:
		g.err = invalid("broken gzip stream: %v", err)
	}
	if g.err != nil {
		return n, g.err
	}
	return n, err
}

// fail returns the error that explains err best: a read error of the
// source (not the client's), then the guard's own, then err as the
// client's error described by what.
func (g *guard) fail(what string, err error) error {
	switch {
	case g.src.err != nil:
		return g.src.err
	case g.err != nil:
		return g.err
	case what == "":
		return err
	}
	return invalid("%s: %v", what, err)
}

// drain reads the rest of the stream after the end of the tar archive,
// which may hold only zeros (padding): anything else could be a second
// archive that other readers see. Reading to the end also checks the gzip
// checksum.
func (g *guard) drain() error {
	buf := make([]byte, 32<<10)
	for {
		n, err := g.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return invalid("data after the end of the tar archive (a second archive?)")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return g.fail("reading after the end of the tar archive", err)
		}
	}
}
