package archive

import (
	"io"

	"github.com/trove-dev/trove/internal/trove"
)

// Limits bound what reading one archive may cost. The zero value allows
// nothing; start from [DefaultLimits].
type Limits struct {
	// Entries bounds the entries: files, directories, and for tar every
	// header, links and PAX global headers included.
	Entries int
	// FileSize bounds one file, unpacked.
	FileSize int64
	// Unpacked bounds all files together, unpacked.
	Unpacked int64
	// Ratio bounds unpacked / packed bytes once more than RatioFloor bytes
	// are unpacked: per zip entry and for the whole archive.
	Ratio, RatioFloor int64
	// NameLen bounds an entry's name, in bytes.
	NameLen int
}

// The default limits; see the package documentation for the choice.
const (
	MaxEntries    = 100_000
	MaxFileSize   = 4 << 30
	MaxUnpacked   = 8 << 30
	MaxRatio      = 200
	RatioFloor    = 16 << 20
	MaxNameLen    = 1024
	maxComponent  = 255     // bytes in one path component: what file systems take
	headerPerItem = 4 << 10 // tar header, PAX header and padding allowed per entry
)

// DefaultLimits returns the limits every ecosystem uses.
func DefaultLimits() Limits {
	return Limits{Entries: MaxEntries, FileSize: MaxFileSize, Unpacked: MaxUnpacked,
		Ratio: MaxRatio, RatioFloor: RatioFloor, NameLen: MaxNameLen}
}

// bomb reports whether unpacked bytes from packed ones exceed the ratio.
func (l Limits) bomb(unpacked, packed int64) bool {
	return unpacked > l.RatioFloor && unpacked > l.Ratio*packed
}

func invalid(format string, args ...any) error {
	return trove.Error(trove.ErrInvalid, format, args...)
}

func tooLarge(format string, args ...any) error {
	return trove.Error(trove.ErrTooLarge, format, args...)
}

// bombError reports a compression bomb: what unpacks to more than unpacked
// bytes from packed.
func bombError(what string, unpacked, packed int64, lim Limits) error {
	return tooLarge("%s unpacks to %d bytes or more from %d: compression ratio above %d:1, refused as a compression bomb",
		what, unpacked, packed, lim.Ratio)
}

// A budget accounts an archive's entries and unpacked bytes.
type budget struct {
	lim      Limits
	entries  int
	unpacked int64
}

// entry counts one more entry.
func (b *budget) entry() error {
	b.entries++
	if b.entries > b.lim.Entries {
		return tooLarge("the archive has more than %d entries", b.lim.Entries)
	}
	return nil
}

// file accounts a file of size bytes.
func (b *budget) file(name string, size int64) error {
	if size < 0 || size > b.lim.FileSize {
		return tooLarge("entry %q is larger than %d bytes", clip(name), b.lim.FileSize)
	}
	b.unpacked += size
	if b.unpacked > b.lim.Unpacked {
		return tooLarge("the archive's files add up to more than %d bytes", b.lim.Unpacked)
	}
	return nil
}

// clip shortens a name for a message.
func clip(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// A counter counts the bytes read through it and keeps the first error
// other than io.EOF: an error of the underlying reader, not the client's.
type counter struct {
	r   io.Reader
	n   int64
	err error
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}
