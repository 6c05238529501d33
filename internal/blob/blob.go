// Package blob stores immutable byte streams addressed by their SHA-256 digest.
//
// A blob becomes visible only through [Writer.Commit], which checks the digest
// the caller expects against the digest of the bytes actually written. Until
// then the bytes live under a temporary key that no reader can name, so a
// failed or aborted upload leaves nothing behind that a reader could see.
//
// # Invariants
//
//   - Open(d) returns exactly the bytes whose SHA-256 is d, or ErrNotFound.
//   - A committed blob is never modified. Committing the same bytes twice is
//     not an error: the second commit finds the blob present and keeps it.
//   - Backends translate their native "does not exist" errors into
//     [ErrNotFound]; blobtest checks this for every backend.
//   - Bytes that no longer match their digest (disk corruption) are never
//     served as good: [Cache] checks every blob it loads, trove fsck and
//     the scheduled scrub check every stored blob, and a damaged blob is
//     taken out of service ([Quarantiner]), after which Open and Stat
//     return [ErrDamaged]. Large blobs sent straight from a file are not
//     checked on each download: between scrubs, the clients' own checks
//     (npm integrity, pip hashes, the go checksum database) are what
//     catches damage to them.
//
// Which blobs are referenced is recorded in the metadata database, never
// derived by listing a store; garbage collection is an anti-join there.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Errors callers branch on.
var (
	// ErrNotFound reports that no committed blob has the digest.
	ErrNotFound = errors.New("blob not found")
	// ErrDigestMismatch reports that the written bytes do not have the
	// digest the committer expected. Nothing is stored.
	ErrDigestMismatch = errors.New("blob digest mismatch")
	// ErrDamaged reports a stored blob whose bytes were found not to match
	// its digest and that was taken out of service.
	ErrDamaged = errors.New("stored blob is damaged (its bytes no longer match its sha256)")
)

// A Quarantiner is a Store that can take a damaged blob out of service:
// afterwards Open and Stat of its digest return an error wrapping
// ErrDamaged, until the same digest is committed again (restored from a
// good copy). Quarantining a missing blob is not an error.
type Quarantiner interface {
	Quarantine(ctx context.Context, d Digest) error
}

// Verify reads r to its end and returns an error wrapping ErrDamaged if
// its bytes do not have the digest d.
func Verify(r io.Reader, d Digest) error {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("reading blob %s: %w", d, err)
	}
	if got := Digest(hex.EncodeToString(h.Sum(nil))); got != d {
		return fmt.Errorf("blob %s has sha256 %s: %w", d, got, ErrDamaged)
	}
	return nil
}

// A Digest is the lowercase hex SHA-256 of a blob's bytes: the blob's key.
type Digest string

// ParseDigest checks that s is a lowercase hex SHA-256 digest.
func ParseDigest(s string) (Digest, error) {
	if len(s) != 2*sha256.Size {
		return "", fmt.Errorf("parsing digest %q: want %d hex characters", s, 2*sha256.Size)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", fmt.Errorf("parsing digest %q: not lowercase hex", s)
		}
	}
	return Digest(s), nil
}

// Sum returns the digest of b.
func Sum(b []byte) Digest {
	s := sha256.Sum256(b)
	return Digest(hex.EncodeToString(s[:]))
}

// A Store holds blobs. Implementations are safe for concurrent use.
type Store interface {
	// Create starts a new blob. The caller writes its bytes to the Writer and
	// then calls exactly one of Commit or Abort.
	Create(ctx context.Context) (Writer, error)
	// Open returns the blob's bytes starting at offset off (0 <= off <= size).
	// It returns an error wrapping ErrNotFound if no blob has the digest.
	// Backends on local files return a reader that also implements
	// io.ReadSeeker, so that HTTP range requests need no extra reads.
	Open(ctx context.Context, d Digest, off int64) (io.ReadCloser, error)
	// Stat returns the size of the blob, or an error wrapping ErrNotFound.
	Stat(ctx context.Context, d Digest) (int64, error)
	// Delete removes the blob. Deleting a missing blob is not an error.
	// Only garbage collection calls it, for blobs no record references.
	Delete(ctx context.Context, d Digest) error

	// ReadState returns the state object called name (see [CheckStateName]),
	// or an error wrapping ErrNotFound if it was never written.
	ReadState(ctx context.Context, name string) ([]byte, error)
	// WriteState replaces the state object called name, atomically: a
	// reader sees the old bytes or the new, never a mix.
	WriteState(ctx context.Context, name string, data []byte) error
}

// State objects are the few small, named, mutable objects kept beside the
// blobs rather than in the metadata database, so that they survive a
// database restored from an older backup: the transparency log's last
// signed checkpoint is one. They are never content-addressed and never
// garbage collected.

// MaxStateBytes bounds a state object.
const MaxStateBytes = 1 << 20

// CheckStateName checks a state object's name: 1 to 64 characters of
// lowercase letters, digits, '-' and '.', not starting with '.'.
func CheckStateName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return fmt.Errorf("state object name %q: want 1 to 64 of [a-z0-9.-], not starting with '.'", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("state object name %q: want 1 to 64 of [a-z0-9.-], not starting with '.'", name)
		}
	}
	return nil
}

// A Writer receives the bytes of a new blob.
type Writer interface {
	io.Writer
	// Commit makes the blob visible under want if, and only if, the bytes
	// written have that SHA-256. Otherwise it discards them and returns an
	// error wrapping ErrDigestMismatch. After Commit the Writer is done.
	Commit(ctx context.Context, want Digest) error
	// Abort discards the bytes written. It is safe to call after Commit,
	// where it does nothing, so callers may defer it.
	Abort() error
}

// Put streams r into s and commits it under want. It is the common case of
// Create, Write, Commit.
func Put(ctx context.Context, s Store, r io.Reader, want Digest) error {
	w, err := s.Create(ctx)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("writing blob: %w", err)
	}
	return w.Commit(ctx, want)
}
