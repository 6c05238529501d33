package npm

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/trove"
)

// Limits on what Trove keeps of a tarball; the archive itself is read
// within archive.DefaultLimits.
const (
	// MaxPackageJSONSize bounds package/package.json.
	MaxPackageJSONSize = 1 << 20
	// MaxReadmeSize bounds the readme kept for the packument; a longer
	// one is cut (the public registry cuts them too).
	MaxReadmeSize = 256 << 10
)

// A tarball is what Trove reads from a package tarball.
type tarball struct {
	// root is the top directory every entry is in, "package" for npm's.
	root string
	// packageJSON is root/package.json, at most MaxPackageJSONSize bytes.
	packageJSON []byte
	// readme is the README at the root (cut to MaxReadmeSize), and
	// readmeFilename its name; both "" without one.
	readme, readmeFilename string
	readmeRank             int
	// files are the regular files' paths below root, in archive order.
	files        []string
	unpackedSize int64
	// rootFiles are the regular files directly in root.
	rootFiles map[string]bool
}

// has reports whether a regular file is directly in the package root.
func (t *tarball) has(name string) bool { return t.rootFiles[name] }

// readmeMarkdown matches the README names npm prefers (README.md, …).
var readmeMarkdown = regexp.MustCompile(`(?i)^readme\.m?a?r?k?d?o?w?n?$`)

// readTarball reads and checks a gzip-compressed package tarball of size
// bytes with internal/archive, which owns every rule about the archive
// itself, and keeps what npm's rules need: one top directory, its
// package.json and README. Every error wraps trove.ErrInvalid or
// trove.ErrTooLarge and says what is wrong, except errors reading r itself.
func readTarball(r io.ReaderAt, size int64) (*tarball, error) {
	t := &tarball{rootFiles: make(map[string]bool)}
	if err := archive.WalkTarGz(io.NewSectionReader(r, 0, size), archive.DefaultLimits(), t.entry); err != nil {
		return nil, fmt.Errorf("package tarball: %w", err)
	}
	if t.packageJSON == nil {
		return nil, tarError("no package.json in the package directory (want package/package.json)")
	}
	return t, nil
}

// tarError returns an invalid tarball error.
func tarError(format string, args ...any) error {
	return trove.Error(trove.ErrInvalid, "package tarball: "+format, args...)
}

// entry takes one entry of the tarball: npm strips its first path element,
// which must be the same directory for every entry.
func (t *tarball) entry(e archive.Entry, r io.Reader) error {
	top, rel, _ := strings.Cut(e.Name, "/")
	switch {
	case rel == "" && !e.Dir:
		return tarError("entry %q is not inside a directory", e.Name)
	case t.root == "":
		t.root = top
	case top != t.root:
		return tarError("entry %q: not inside the package directory %q (a tarball has one top directory)", e.Name, t.root)
	}
	if e.Dir {
		return nil
	}
	t.files = append(t.files, rel)
	t.unpackedSize += e.Size
	if strings.Contains(rel, "/") {
		return nil
	}
	t.rootFiles[rel] = true
	return t.rootFile(rel, e.Size, r)
}

// rootFile keeps package.json and the README npm would choose: README.md
// (or .markdown…) first, then README.
func (t *tarball) rootFile(rel string, size int64, r io.Reader) error {
	switch {
	case rel == "package.json":
		if size > MaxPackageJSONSize {
			return trove.Error(trove.ErrTooLarge, "package tarball: package.json is larger than %d bytes", MaxPackageJSONSize)
		}
		b, err := readAll(r, size)
		if err != nil {
			return fmt.Errorf("reading package.json: %w", err)
		}
		t.packageJSON = b
	case readmeRankOf(rel) > t.readmeRank:
		n := min(size, MaxReadmeSize)
		b, err := readAll(io.LimitReader(r, n), n)
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		t.readme, t.readmeFilename, t.readmeRank = validUTF8Prefix(b), rel, readmeRankOf(rel)
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
