package archive

import (
	"archive/zip"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// A Zip is a zip archive that passed every check of [OpenZip].
type Zip struct {
	src     *sourceAt
	entries []Entry
	files   []*zip.File // archive/zip's reading of each entry
	byName  map[string]int
}

// Unix file types in the high 16 bits of an entry's external attributes,
// for the hosts that write them there.
const (
	unixTypeMask = 0o170000
	unixRegular  = 0o100000
	unixDir      = 0o040000
	unixSymlink  = 0o120000
	creatorUnix  = 3
	creatorMac   = 19
	msdosDir     = 0x10
)

// OpenZip checks the zip archive of size bytes in r — its structure, then
// every entry's name, type, method and sizes against lim — and returns it.
// Nothing is decompressed: sizes are the declared ones, which archive/zip
// enforces when the entries are read. A Zip is for one goroutine at a time.
func OpenZip(ra io.ReaderAt, size int64, lim Limits) (*Zip, error) {
	r := &sourceAt{r: ra}
	z, err := openZip(r, size, lim)
	if r.err != nil {
		return nil, r.err
	}
	return z, err
}

func openZip(r *sourceAt, size int64, lim Limits) (*Zip, error) {
	d, err := readDirectory(r, size, lim)
	if err != nil {
		return nil, err
	}
	recs, err := readCentral(r, size, d, lim)
	if err != nil {
		return nil, err
	}
	if err := walkLocal(r, size, recs, d); err != nil {
		return nil, err
	}
	z := &Zip{src: r, byName: make(map[string]int, len(recs))}
	if err := z.check(recs, size, lim); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are checked here
		return nil, invalid("not a valid zip archive: it cannot be read (%v)", err)
	}
	if err := z.same(zr, recs); err != nil {
		return nil, err
	}
	return z, nil
}

// check applies the entry rules to every record, then the archive's ratio.
func (z *Zip) check(recs []record, size int64, lim Limits) error {
	b := budget{lim: lim}
	names := newNameSet()
	for _, rec := range recs {
		e, err := checkRecord(&rec, &b)
		if err != nil {
			return err
		}
		if err := names.add(e.Name, e.Dir); err != nil {
			return err
		}
		z.byName[e.Name] = len(z.entries)
		z.entries = append(z.entries, e)
	}
	if lim.bomb(b.unpacked, size) {
		return bombError("the archive", b.unpacked, size, lim)
	}
	return nil
}

// checkRecord checks one entry and accounts for it.
func checkRecord(rec *record, b *budget) (Entry, error) {
	name := clip(rec.name)
	if err := b.entry(); err != nil {
		return Entry{}, err
	}
	if err := checkZipName(rec, b.lim); err != nil {
		return Entry{}, err
	}
	e := Entry{Name: strings.TrimSuffix(rec.name, "/"), Dir: strings.HasSuffix(rec.name, "/")}
	if err := checkZipType(rec, e.Dir); err != nil {
		return Entry{}, err
	}
	switch {
	case rec.flags&(flagEncrypted|flagStrongEnc) != 0:
		return Entry{}, invalid("entry %q is encrypted", name)
	case rec.method != zip.Store && rec.method != zip.Deflate:
		return Entry{}, invalid("entry %q uses compression method %d; only stored (0) and deflated (8) entries are allowed", name, rec.method)
	case rec.method == zip.Store && rec.packed != rec.size:
		return Entry{}, invalid("entry %q is stored, but its packed and unpacked sizes differ", name)
	case e.Dir && rec.size+rec.packed != 0:
		return Entry{}, invalid("entry %q is a directory with data", name)
	case e.Dir:
		return e, nil
	case rec.size > uint64(b.lim.FileSize):
		return Entry{}, tooLarge("entry %q is larger than %d bytes", name, b.lim.FileSize)
	case b.lim.bomb(int64(rec.size), int64(rec.packed)):
		return Entry{}, bombError("entry "+quote(name), int64(rec.size), int64(rec.packed), b.lim)
	}
	e.Size = int64(rec.size)
	return e, b.file(rec.name, e.Size)
}

func quote(s string) string { return `"` + s + `"` }

// checkZipName checks an entry's name, and that every reader decodes it
// the same: a name that is not ASCII must carry the UTF-8 flag (readers
// decode others as CP437, or as UTF-8), and an Info-ZIP Unicode Path, which
// some readers prefer, must say the same.
func checkZipName(rec *record, lim Limits) error {
	if err := CheckName(rec.name, lim.NameLen); err != nil {
		return err
	}
	if rec.flags&flagUTF8 == 0 && !isASCII(rec.name) {
		return invalid("entry %q has a name that is not ASCII without the UTF-8 flag (readers decode it differently)", clip(rec.name))
	}
	if rec.unicodePath != nil && *rec.unicodePath != rec.name {
		return invalid("entry %q has a Unicode Path extra field naming %q (readers differ on which name counts)", clip(rec.name), clip(*rec.unicodePath))
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkZipType refuses links, devices, FIFOs and sockets (a Unix type in
// the external attributes) and entries whose attributes and name disagree
// on being a directory.
func checkZipType(rec *record, dir bool) error {
	name := clip(rec.name)
	if rec.external&msdosDir != 0 && !dir && rec.creator>>8 != creatorUnix && rec.creator>>8 != creatorMac {
		return invalid("entry %q is a directory by its attributes but not by its name (readers differ)", name)
	}
	if host := rec.creator >> 8; host != creatorUnix && host != creatorMac {
		return nil
	}
	switch t := (rec.external >> 16) & unixTypeMask; {
	case t == 0:
		return nil
	case t == unixSymlink:
		return invalid("entry %q is a symbolic link; links are not allowed", name)
	case t == unixDir && !dir, t == unixRegular && dir:
		return invalid("entry %q: its Unix mode and its name disagree on whether it is a directory (readers differ)", name)
	case t == unixDir, t == unixRegular:
		return nil
	default:
		return invalid("entry %q is a device, FIFO or socket (Unix type %#o); only files and directories are allowed", name, t)
	}
}

// same checks that archive/zip reads the entries the walk found, at the
// same offsets: what is handed out is what every reader extracts.
func (z *Zip) same(zr *zip.Reader, recs []record) error {
	if len(zr.File) != len(recs) {
		return invalid("not a valid zip archive: archive/zip reads %d entries, the central directory has %d", len(zr.File), len(recs))
	}
	for i, f := range zr.File {
		off, err := f.DataOffset()
		rec := recs[i]
		if err != nil || f.Name != rec.name || uint64(off) != rec.dataOffset || f.CompressedSize64 != rec.packed ||
			f.UncompressedSize64 != rec.size || f.CRC32 != rec.crc || f.Method != rec.method {
			return invalid("entry %q: archive/zip reads it differently", clip(rec.name))
		}
	}
	z.files = zr.File
	return nil
}

// Entries returns the entries in archive order.
func (z *Zip) Entries() []Entry { return z.entries }

// Lookup returns the entry of a name (without a directory's slash).
func (z *Zip) Lookup(name string) (Entry, bool) {
	i, ok := z.byName[name]
	if !ok {
		return Entry{}, false
	}
	return z.entries[i], true
}

// ReadFile returns the bytes of the file name, which may be at most max
// bytes long. A missing file is trove.ErrInvalid ("the archive has no …").
func (z *Zip) ReadFile(name string, max int64) ([]byte, error) {
	i, ok := z.byName[name]
	if !ok || z.entries[i].Dir {
		return nil, invalid("the archive has no %s", clip(name))
	}
	if z.entries[i].Size > max {
		return nil, tooLarge("%s is larger than %d bytes", clip(name), max)
	}
	b := make([]byte, 0, z.entries[i].Size)
	err := z.read(i, func(r io.Reader) error {
		var err error
		b, err = io.ReadAll(r)
		return err
	})
	return b, err
}

// Walk calls fn for each entry in archive order with its bytes, and reads
// every file to its end, which checks its size and CRC-32.
func (z *Zip) Walk(fn WalkFunc) error {
	for i, e := range z.entries {
		if e.Dir {
			if err := fn(e, strings.NewReader("")); err != nil {
				return err
			}
			continue
		}
		if err := z.read(i, func(r io.Reader) error { return fn(e, r) }); err != nil {
			return err
		}
	}
	return nil
}

// read opens entry i for use, then reads what use left to the end.
func (z *Zip) read(i int, use func(io.Reader) error) error {
	rc, err := z.files[i].Open()
	if err != nil {
		if z.src.err != nil {
			return z.src.err
		}
		return invalid("entry %q cannot be read: %v", clip(z.entries[i].Name), err)
	}
	defer rc.Close()
	r := &entryReader{r: rc, src: z.src, name: z.entries[i].Name}
	if err := use(r); err != nil {
		if r.err != nil {
			return r.err
		}
		return err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return r.err
	}
	return nil
}

// An entryReader makes errors reading an entry the client's.
type entryReader struct {
	r    io.Reader
	src  *sourceAt
	name string
	err  error
}

func (e *entryReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = invalid("entry %q is corrupt: %v", clip(e.name), err)
		if e.src.err != nil {
			e.err = e.src.err // not the client's
		}
		return n, e.err
	}
	return n, err
}

// A sourceAt keeps the first error of the reader of the archive's bytes.
type sourceAt struct {
	r   io.ReaderAt
	err error
}

func (s *sourceAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.r.ReadAt(p, off)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}
