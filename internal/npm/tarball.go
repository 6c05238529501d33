package npm

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/trove-dev/trove/internal/trove"
)

// Limits on the tarballs Trove accepts. They are checked while reading,
// before anything is parsed or kept, so a hostile archive costs at most
// MaxUnpackedSize of decompression.
const (
	// MaxTarballEntries bounds the entries (files, directories, links).
	MaxTarballEntries = 50_000
	// MaxFileSize bounds one file, uncompressed.
	MaxFileSize = 256 << 20
	// MaxUnpackedSize bounds all files together, uncompressed.
	MaxUnpackedSize = 1 << 30
	// MaxCompressionRatio bounds uncompressed / compressed bytes, once
	// more than ratioFloor bytes were decompressed: source code compresses
	// 3 to 20 times, a decompression bomb a thousand times.
	MaxCompressionRatio = 100
	ratioFloor          = 16 << 20
	// MaxPackageJSONSize bounds package/package.json.
	MaxPackageJSONSize = 1 << 20
	// MaxReadmeSize bounds the readme kept for the packument; a longer
	// one is cut (npmjs cuts them too).
	MaxReadmeSize = 256 << 10
	// maxEntryNameLen bounds an entry's path.
	maxEntryNameLen = 1024
	// tarOverhead is the decompressed size of headers and padding allowed
	// beyond MaxUnpackedSize.
	tarOverhead = 64 << 20
)

// tarLimits are the limits readTarball applies; tests shrink them.
type tarLimits struct {
	entries                      int
	fileSize, unpacked, overhead int64
	ratio, ratioFloor            int64
}

var defaultTarLimits = tarLimits{
	entries: MaxTarballEntries, fileSize: MaxFileSize, unpacked: MaxUnpackedSize, overhead: tarOverhead,
	ratio: MaxCompressionRatio, ratioFloor: ratioFloor,
}

// A tarball is what Trove reads from a package tarball.
type tarball struct {
	// root is the top directory every entry is in, "package" for npm's.
	root string
	// packageJSON is root/package.json, at most MaxPackageJSONSize bytes.
	packageJSON []byte
	// readme is the README at the root (cut to MaxReadmeSize), and
	// readmeFilename its name; both "" without one.
	readme, readmeFilename string
	// files are the regular files' paths below root, in archive order.
	files        []string
	unpackedSize int64
	// rootFiles are the regular files directly in root.
	rootFiles map[string]bool
	lim       tarLimits
}

// has reports whether a regular file is directly in the package root.
func (t *tarball) has(name string) bool { return t.rootFiles[name] }

// readmeMarkdown matches the README names npm prefers (README.md, …).
var readmeMarkdown = regexp.MustCompile(`(?i)^readme\.m?a?r?k?d?o?w?n?$`)

// tarError returns a tarball error of category kind.
func tarError(kind error, format string, args ...any) error {
	return trove.Error(kind, "package tarball: "+format, args...)
}

// readTarball reads and checks a gzip-compressed package tarball of size
// bytes. Every error wraps trove.ErrInvalid or trove.ErrTooLarge
// and says what is wrong, except errors reading r itself.
func readTarball(r io.ReaderAt, size int64) (*tarball, error) {
	return readTarballLimits(r, size, defaultTarLimits)
}

func readTarballLimits(r io.ReaderAt, size int64, lim tarLimits) (*tarball, error) {
	compressed := &countingReader{r: io.NewSectionReader(r, 0, size)}
	zr, err := gzip.NewReader(compressed)
	if err != nil {
		return nil, tarError(trove.ErrInvalid, "not gzip-compressed: %v", err)
	}
	defer zr.Close()
	guard := &bombGuard{r: zr, compressed: compressed, lim: lim}
	tr := tar.NewReader(guard)

	t := &tarball{rootFiles: make(map[string]bool), lim: lim}
	seen := make(map[string]string) // lowercased path → entry type, for duplicates
	dirs := make(map[string]bool)   // lowercased implicit and explicit directories
	var readmeRank int
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			var ge *guardError
			if errors.As(err, &ge) {
				return nil, ge.err
			}
			if size > 0 && compressed.err != nil {
				return nil, compressed.err
			}
			return nil, tarError(trove.ErrInvalid, "broken archive: %v", err)
		}
		if entries >= lim.entries {
			return nil, tarError(trove.ErrTooLarge, "more than %d entries", lim.entries)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		rel, err := t.entryPath(hdr.Name, hdr.Typeflag == tar.TypeDir)
		if err != nil {
			return nil, err
		}
		if rel == "" {
			if hdr.Typeflag != tar.TypeDir {
				return nil, tarError(trove.ErrInvalid, "entry %q is not inside a directory", hdr.Name)
			}
			continue // the top directory itself
		}
		key := strings.ToLower(rel)
		if _, dup := seen[key]; dup || hdr.Typeflag != tar.TypeDir && dirs[key] {
			return nil, tarError(trove.ErrInvalid, "entry %q appears more than once (names are compared ignoring case)", hdr.Name)
		}
		seen[key] = rel
		for d := path.Dir(key); d != "."; d = path.Dir(d) {
			if _, isFile := seen[d]; isFile && !dirs[d] {
				return nil, tarError(trove.ErrInvalid, "entry %q is inside %q, which is a file", hdr.Name, d)
			}
			dirs[d] = true
		}

		switch hdr.Typeflag {
		case tar.TypeDir:
			dirs[key] = true
		case tar.TypeReg, tar.TypeCont:
			if err := t.readFile(tr, hdr, rel, &readmeRank); err != nil {
				return nil, err
			}
		case tar.TypeSymlink:
			// npm does not extract links; one pointing outside the package
			// is refused all the same, as an attempt to escape it.
			target := hdr.Linkname
			if target == "" || strings.HasPrefix(target, "/") || strings.Contains(target, `\`) || !localPath(path.Join(path.Dir(rel), target)) {
				return nil, tarError(trove.ErrInvalid, "symbolic link %q points outside the package (%q)", hdr.Name, target)
			}
		case tar.TypeLink:
			lrel, err := t.entryPath(hdr.Linkname, false)
			if err != nil || lrel == "" {
				return nil, tarError(trove.ErrInvalid, "hard link %q points outside the package (%q)", hdr.Name, hdr.Linkname)
			}
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return nil, tarError(trove.ErrInvalid, "entry %q is a device or FIFO", hdr.Name)
		default:
			return nil, tarError(trove.ErrInvalid, "entry %q has an unsupported type %q", hdr.Name, hdr.Typeflag)
		}
	}
	// Read to the end of the gzip stream: its checksum, and anything
	// after the archive, must be sound too, or npm cannot extract it.
	if _, err := io.Copy(io.Discard, guard); err != nil {
		var ge *guardError
		if errors.As(err, &ge) {
			return nil, ge.err
		}
		if compressed.err != nil {
			return nil, compressed.err
		}
		return nil, tarError(trove.ErrInvalid, "broken gzip stream: %v", err)
	}
	if t.packageJSON == nil {
		return nil, tarError(trove.ErrInvalid, "no package.json in the package directory (want package/package.json)")
	}
	return t, nil
}

// entryPath checks an entry name and returns it relative to the package's
// top directory, which the first entry decides and every entry shares.
func (t *tarball) entryPath(name string, dir bool) (string, error) {
	bad := func(why string) error {
		return tarError(trove.ErrInvalid, "entry %q: %s", name, why)
	}
	switch {
	case name == "":
		return "", bad("empty name")
	case len(name) > maxEntryNameLen:
		return "", bad(fmt.Sprintf("name longer than %d bytes", maxEntryNameLen))
	case !utf8.ValidString(name):
		return "", bad("name is not UTF-8")
	case strings.HasPrefix(name, "/"), len(name) >= 2 && name[1] == ':':
		return "", bad("absolute path")
	case strings.ContainsAny(name, "\\\x00"):
		return "", bad("backslash or NUL in the name")
	}
	parts := strings.Split(strings.TrimSuffix(name, "/"), "/")
	for i, p := range parts {
		switch {
		case p == "..":
			return "", bad("path traversal (..)")
		case p == "" || p == "." && i > 0:
			return "", bad("empty or '.' path element")
		}
	}
	if t.root == "" {
		t.root = parts[0]
	} else if parts[0] != t.root {
		return "", bad(fmt.Sprintf("not inside the package directory %q (a tarball has one top directory)", t.root))
	}
	return strings.Join(parts[1:], "/"), nil
}

// localPath reports whether a cleaned relative path stays inside its root.
func localPath(p string) bool {
	p = path.Clean(p)
	return p != ".." && !strings.HasPrefix(p, "../") && !strings.HasPrefix(p, "/")
}

// readFile accounts for a regular file and keeps what Trove needs of it.
func (t *tarball) readFile(tr *tar.Reader, hdr *tar.Header, rel string, readmeRank *int) error {
	if hdr.Size < 0 || hdr.Size > t.lim.fileSize {
		return tarError(trove.ErrTooLarge, "file %q is larger than %d bytes", hdr.Name, t.lim.fileSize)
	}
	t.unpackedSize += hdr.Size
	if t.unpackedSize > t.lim.unpacked {
		return tarError(trove.ErrTooLarge, "files add up to more than %d bytes", t.lim.unpacked)
	}
	t.files = append(t.files, rel)
	if strings.Contains(rel, "/") {
		return nil
	}
	t.rootFiles[rel] = true
	switch {
	case rel == "package.json":
		if hdr.Size > MaxPackageJSONSize {
			return tarError(trove.ErrTooLarge, "package.json is larger than %d bytes", MaxPackageJSONSize)
		}
		b, err := readAll(tr, hdr.Size)
		if err != nil {
			return tarError(trove.ErrInvalid, "reading package.json: %v", err)
		}
		t.packageJSON = b
	case readmeRankOf(rel) > *readmeRank:
		// npm's choice: README.md (or .markdown…) first, then README.
		n := min(hdr.Size, MaxReadmeSize)
		b, err := readAll(io.LimitReader(tr, n), n)
		if err != nil {
			return tarError(trove.ErrInvalid, "reading %s: %v", rel, err)
		}
		t.readme, t.readmeFilename = validUTF8Prefix(b), rel
		*readmeRank = readmeRankOf(rel)
	}
	return nil
}

// readmeRankOf ranks root file names as readmes: 2 for README.md and its
// kin, 1 for README, 0 for others.
func readmeRankOf(name string) int {
	switch {
	case readmeMarkdown.MatchString(name):
		return 2
	case strings.EqualFold(name, "README"):
		return 1
	}
	return 0
}

// readAll reads exactly n bytes.
func readAll(r io.Reader, n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// validUTF8Prefix returns b as a string without a rune that the cut at
// its end left incomplete, and with any invalid UTF-8 replaced.
func validUTF8Prefix(b []byte) string {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < utf8.RuneSelf {
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				b = b[:len(b)-i]
			}
			break
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r   io.Reader
	n   int64
	err error // a read error other than EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// A bombGuard stops decompression past the size and ratio limits.
type bombGuard struct {
	r          io.Reader
	compressed *countingReader
	lim        tarLimits
	n          int64
}

type guardError struct{ err error }

func (e *guardError) Error() string { return e.err.Error() }
func (e *guardError) Unwrap() error { return e.err }

func (g *bombGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.n += int64(n)
	switch {
	case g.n > g.lim.unpacked+g.lim.overhead:
		return n, &guardError{tarError(trove.ErrTooLarge, "decompresses to more than %d bytes", g.lim.unpacked+g.lim.overhead)}
	case g.n > g.lim.ratioFloor && g.n > g.lim.ratio*max(g.compressed.n, 1):
		return n, &guardError{tarError(trove.ErrTooLarge, "compression ratio above %d:1 (a decompression bomb?)", g.lim.ratio)}
	}
	if err != nil && err != io.EOF {
		// gzip errors (bad checksum, truncated stream) are the client's.
		if g.compressed.err == nil {
			return n, &guardError{tarError(trove.ErrInvalid, "broken gzip stream: %v", err)}
		}
	}
	return n, err
}
