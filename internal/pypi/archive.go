package pypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits on uploaded archives. They are checked before anything is
// decompressed where the format allows it (zip central directories), and
// while decompressing otherwise (tar.gz streams), always through a reader
// that stops at the limit.
const (
	// MaxArchiveEntries bounds the files and directories of an archive.
	MaxArchiveEntries = 100_000
	// MaxMetadataBytes bounds a METADATA or PKG-INFO file.
	MaxMetadataBytes = 4 << 20
	// MaxUnpackedBytes bounds the total unpacked size of an archive.
	MaxUnpackedBytes = 8 << 30
	// MaxCompressionRatio bounds how many times larger than its compressed
	// form an archive, or an entry of a zip archive, may unpack to, once it
	// unpacks to more than BombFloor bytes. Real distributions stay far
	// below it; compression bombs far above.
	MaxCompressionRatio = 200
	// BombFloor is the unpacked size below which no ratio is suspicious.
	BombFloor = 16 << 20
	// maxWheelFileBytes bounds a wheel's WHEEL file.
	maxWheelFileBytes = 64 << 10
)

// unpackLimit returns how many bytes an archive of size bytes may unpack to.
func unpackLimit(size int64) int64 {
	return min(int64(MaxUnpackedBytes), max(int64(BombFloor), size*MaxCompressionRatio))
}

// readWheel checks a wheel's archive, whose filename was parsed as d, and
// returns its .dist-info/METADATA file byte-exact.
func readWheel(r io.ReaderAt, size int64, d distFile) ([]byte, error) {
	files, err := openZip(r, size)
	if err != nil {
		return nil, err
	}
	// Exactly one top-level .dist-info directory, named after the file.
	var distInfo []string
	seen := make(map[string]bool)
	for name := range files {
		top, _, _ := strings.Cut(name, "/")
		if strings.HasSuffix(top, ".dist-info") && !seen[top] {
			seen[top] = true
			distInfo = append(distInfo, top)
		}
	}
	switch len(distInfo) {
	case 0:
		return nil, fmt.Errorf("the wheel has no .dist-info directory")
	case 1:
	default:
		return nil, fmt.Errorf("the wheel has %d .dist-info directories; it must have exactly one", len(distInfo))
	}
	dir := distInfo[0]
	name, version, ok := strings.Cut(strings.TrimSuffix(dir, ".dist-info"), "-")
	if !ok || Normalize(name) != Normalize(d.Name) || !sameVersion(version, d.Version) {
		return nil, fmt.Errorf("the wheel's %s directory does not match its filename (want %s-%s.dist-info)", dir, d.Name, d.Version)
	}
	wheel, err := readZipFile(files, dir+"/WHEEL", maxWheelFileBytes)
	if err != nil {
		return nil, err
	}
	if err := checkWheelFile(wheel); err != nil {
		return nil, fmt.Errorf("%s/WHEEL: %v", dir, err)
	}
	return readZipFile(files, dir+"/METADATA", MaxMetadataBytes)
}

// checkWheelFile checks that a WHEEL file declares a Wheel-Version 1.x,
// the only major version installers accept.
func checkWheelFile(b []byte) error {
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "Wheel-Version") {
			if v = strings.TrimSpace(v); v != "1" && !strings.HasPrefix(v, "1.") {
				return fmt.Errorf("Wheel-Version %q is not supported (want 1.x)", clip(v, 20))
			}
			return nil
		}
	}
	return fmt.Errorf("no Wheel-Version")
}

func sameVersion(a, b string) bool {
	ka, err1 := (Rules{}).VersionKey(a)
	kb, err2 := (Rules{}).VersionKey(b)
	return err1 == nil && err2 == nil && ka == kb
}

// readSdist checks an sdist's archive, a .tar.gz or .zip (ext) whose
// top-level directory must be root, and returns root/PKG-INFO.
func readSdist(r io.ReaderAt, size int64, ext, root string) ([]byte, error) {
	if ext == ".zip" {
		files, err := openZip(r, size)
		if err != nil {
			return nil, err
		}
		for name := range files {
			if err := underRoot(name, root); err != nil {
				return nil, err
			}
		}
		return readZipFile(files, root+"/PKG-INFO", MaxMetadataBytes)
	}
	return readSdistTar(r, size, root)
}

// underRoot checks that an sdist's entry is in its one top-level directory.
func underRoot(name, root string) error {
	if strings.TrimSuffix(name, "/") != root && !strings.HasPrefix(name, root+"/") {
		return fmt.Errorf("entry %q is outside the sdist's top-level directory %s/; an sdist holds exactly one directory named {name}-{version}", clip(name, 100), root)
	}
	return nil
}

// readSdistTar reads a .tar.gz sdist whose top-level directory is root.
// The whole stream is decompressed to check every entry.
func readSdistTar(r io.ReaderAt, size int64, root string) ([]byte, error) {
	gz, err := gzip.NewReader(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("the sdist is not a gzip-compressed tar archive: %v", err)
	}
	limit := unpackLimit(size)
	lr := &limitedReader{r: gz, n: limit}
	tr := tar.NewReader(lr)
	seen := make(map[string]bool)
	var pkgInfo []byte
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errLimit) {
			return nil, bombError(size, limit)
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return nil, fmt.Errorf("the sdist is not a valid tar.gz archive: %v", err)
		}
		if entries >= MaxArchiveEntries {
			return nil, fmt.Errorf("the archive has more than %d entries", MaxArchiveEntries)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // PAX defaults for the entries after it; no file
		}
		if err := checkEntryName(hdr.Name); err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink:
			return nil, fmt.Errorf("entry %q is a symbolic link; links are not allowed in distributions", clip(hdr.Name, 100))
		case tar.TypeLink:
			return nil, fmt.Errorf("entry %q is a hard link; links are not allowed in distributions", clip(hdr.Name, 100))
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return nil, fmt.Errorf("entry %q is a device or pipe; only files and directories are allowed in distributions", clip(hdr.Name, 100))
		default:
			return nil, fmt.Errorf("entry %q has the unsupported tar type %q; only files and directories are allowed", clip(hdr.Name, 100), hdr.Typeflag)
		}
		if err := underRoot(hdr.Name, root); err != nil {
			return nil, err
		}
		key := strings.TrimSuffix(hdr.Name, "/")
		if seen[key] {
			return nil, fmt.Errorf("entry %q appears more than once", clip(hdr.Name, 100))
		}
		seen[key] = true
		if key == root+"/PKG-INFO" && hdr.Typeflag != tar.TypeDir {
			if hdr.Size > MaxMetadataBytes {
				return nil, fmt.Errorf("%s is larger than %d bytes", key, MaxMetadataBytes)
			}
			pkgInfo, err = io.ReadAll(io.LimitReader(tr, MaxMetadataBytes+1))
			if errors.Is(err, errLimit) {
				return nil, bombError(size, limit)
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s: %v", key, err)
			}
		}
	}
	// Trailing bytes after the end of the tar stream are decompressed too,
	// so that a bomb cannot hide there from a later reader.
	if _, err := io.Copy(io.Discard, lr); errors.Is(err, errLimit) {
		return nil, bombError(size, limit)
	} else if err != nil {
		return nil, fmt.Errorf("the sdist is not a valid tar.gz archive: %v", err)
	}
	if pkgInfo == nil {
		return nil, fmt.Errorf("the sdist has no %s/PKG-INFO", root)
	}
	return pkgInfo, nil
}

func bombError(size, limit int64) error {
	return fmt.Errorf("the archive unpacks to more than %d bytes from %d: refused as a compression bomb", limit, size)
}

var errLimit = errors.New("unpack limit reached")

// limitedReader returns errLimit once more than n bytes were read.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errLimit
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errLimit
	}
	return n, err
}

// Unix file types in the high 16 bits of a zip entry's external attributes.
const (
	unixTypeMask = 0o170000
	unixRegular  = 0o100000
	unixDir      = 0o040000
)

// Zip "version made by" hosts whose external attributes hold a Unix mode.
const (
	creatorUnix = 3
	creatorMac  = 19
)

// openZip checks a zip archive and returns its entries by name. Before
// the archive is parsed, its central directory headers are counted, so a
// directory with millions of entries is refused without loading it.
func openZip(r io.ReaderAt, size int64) (map[string]*zip.File, error) {
	n, err := countSignatures(r, size, []byte("PK\x01\x02"))
	if err != nil {
		return nil, fmt.Errorf("reading archive: %v", err)
	}
	if n > MaxArchiveEntries {
		return nil, fmt.Errorf("the archive has more than %d entries", MaxArchiveEntries)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are reported below
		return nil, fmt.Errorf("not a valid zip archive: %v", err)
	}
	if len(zr.File) > MaxArchiveEntries {
		return nil, fmt.Errorf("the archive has more than %d entries", MaxArchiveEntries)
	}
	files := make(map[string]*zip.File, len(zr.File))
	var unpacked, packed uint64
	for _, f := range zr.File {
		if err := checkEntryName(f.Name); err != nil {
			return nil, err
		}
		if err := checkZipEntry(f); err != nil {
			return nil, err
		}
		key := strings.TrimSuffix(f.Name, "/")
		if _, dup := files[key]; dup {
			return nil, fmt.Errorf("entry %q appears more than once", clip(f.Name, 100))
		}
		files[key] = f
		unpacked += f.UncompressedSize64
		packed += f.CompressedSize64
	}
	if packed > uint64(size) {
		return nil, fmt.Errorf("the archive's entries overlap (they claim %d compressed bytes in a %d-byte file): refused as a compression bomb", packed, size)
	}
	if unpacked > uint64(unpackLimit(size)) {
		return nil, bombError(size, unpackLimit(size))
	}
	return files, nil
}

// checkZipEntry refuses links, devices, encrypted entries, unusual
// compression and entries that unpack suspiciously far.
func checkZipEntry(f *zip.File) error {
	name := clip(f.Name, 100)
	if host := f.CreatorVersion >> 8; host == creatorUnix || host == creatorMac {
		switch t := (f.ExternalAttrs >> 16) & unixTypeMask; t {
		case 0, unixRegular, unixDir:
		case 0o120000:
			return fmt.Errorf("entry %q is a symbolic link; links are not allowed in distributions", name)
		default:
			return fmt.Errorf("entry %q is not a regular file or directory (Unix type %#o); only files and directories are allowed", name, t)
		}
	}
	if f.Flags&0x1 != 0 {
		return fmt.Errorf("entry %q is encrypted", name)
	}
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return fmt.Errorf("entry %q uses compression method %d; wheels use only stored or deflated entries", name, f.Method)
	}
	if u := f.UncompressedSize64; u > BombFloor && u/MaxCompressionRatio > f.CompressedSize64 {
		return fmt.Errorf("entry %q unpacks to %d bytes from %d: refused as a compression bomb", name, u, f.CompressedSize64)
	}
	return nil
}

// readZipFile returns the contents of the regular file name, at most max bytes.
func readZipFile(files map[string]*zip.File, name string, max int64) ([]byte, error) {
	f := files[name]
	if f == nil || strings.HasSuffix(f.Name, "/") {
		return nil, fmt.Errorf("the archive has no %s", name)
	}
	if f.UncompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return b, nil
}

// checkEntryName refuses archive entry names that are not plain relative
// paths: absolute paths, drive letters, backslashes, "." and ".."
// components, empty components, control characters and invalid UTF-8.
func checkEntryName(name string) error {
	q := clip(name, 100)
	switch {
	case name == "":
		return fmt.Errorf("an entry has an empty name")
	case !utf8.ValidString(name):
		return fmt.Errorf("entry %q has a name that is not UTF-8", q)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("entry %q has an absolute path", q)
	case strings.ContainsRune(name, '\\'):
		return fmt.Errorf("entry %q contains a backslash", q)
	case len(name) >= 2 && name[1] == ':':
		return fmt.Errorf("entry %q starts with a drive letter", q)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("entry %q contains a control character", q)
		}
	}
	for c := range strings.SplitSeq(strings.TrimSuffix(name, "/"), "/") {
		switch c {
		case "..":
			return fmt.Errorf("entry %q contains \"..\": it would be unpacked outside its directory", q)
		case ".", "":
			return fmt.Errorf("entry %q has an empty or \".\" path component", q)
		}
	}
	return nil
}

// countSignatures counts the occurrences of sig (4 bytes) in the first
// size bytes of r: an upper bound on the entries a zip reader can find.
func countSignatures(r io.ReaderAt, size int64, sig []byte) (int, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+len(sig)-1)
	n := 0
	for off := int64(0); off < size; off += chunk {
		m := min(int64(len(buf)), size-off)
		if _, err := r.ReadAt(buf[:m], off); err != nil && err != io.EOF {
			return 0, err
		}
		n += bytes.Count(buf[:m], sig)
		if n > MaxArchiveEntries {
			break
		}
	}
	return n, nil
}
