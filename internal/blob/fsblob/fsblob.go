// Package fsblob is a blob.Store on a local filesystem directory.
//
// # Layout
//
//	<root>/
//	├── sha256/
//	│   └── ab/                     first two hex digits of the digest
//	│       └── ab12…ef             the blob, named by its full digest, mode 0444
//	├── tmp/
//	│   └── upload-<random>         bytes being written; renamed into sha256/ by Commit
//	├── damaged/
//	│   └── ab12…ef                 a blob whose bytes no longer match its name, moved
//	│                               aside by Quarantine; a new Commit of the digest removes it
//	└── state/
//	    └── <name>                  a state object (blob.Store.WriteState), replaced by rename
//
// Commit computes the digest while the bytes stream in, fsyncs the file,
// and renames it into place, so a blob path exists only for complete,
// verified bytes. Files left in tmp/ by a crash are never visible and are
// removed by New.
package fsblob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/trove-dev/trove/internal/blob"
)

// Store is a blob.Store rooted at a directory.
type Store struct {
	root string
}

// New returns a Store rooted at dir, creating it if needed, and removes any
// temporary files left by an earlier process.
func New(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "sha256"), filepath.Join(dir, "tmp"), filepath.Join(dir, "damaged"), filepath.Join(dir, "state")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("creating blob directory: %w", err)
		}
	}
	tmp := filepath.Join(dir, "tmp")
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("reading blob tmp directory: %w", err)
	}
	for _, e := range entries {
		os.Remove(filepath.Join(tmp, e.Name()))
	}
	return &Store{root: dir}, nil
}

func (s *Store) path(d blob.Digest) (string, error) {
	if _, err := blob.ParseDigest(string(d)); err != nil {
		return "", fmt.Errorf("%w: %w", blob.ErrNotFound, err)
	}
	return filepath.Join(s.root, "sha256", string(d[:2]), string(d)), nil
}

// Create starts a new blob in the tmp directory.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "upload-")
	if err != nil {
		return nil, fmt.Errorf("creating blob: %w", err)
	}
	return &writer{s: s, f: f, h: sha256.New()}, nil
}

// Open opens the blob and seeks to off. The returned reader is an *os.File,
// so net/http can serve it with sendfile and answer range requests.
func (s *Store) Open(ctx context.Context, d blob.Digest, off int64) (io.ReadCloser, error) {
	p, err := s.path(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("opening blob %s: %w", d, s.missing(d))
	}
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", d, err)
	}
	if off != 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("opening blob %s at %d: %w", d, off, err)
		}
	}
	return f, nil
}

// Stat returns the blob's size.
func (s *Store) Stat(ctx context.Context, d blob.Digest) (int64, error) {
	p, err := s.path(d)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("stat blob %s: %w", d, s.missing(d))
	}
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	return fi.Size(), nil
}

// missing tells a blob that was never stored (ErrNotFound) from one taken
// out of service (ErrDamaged). Only the miss path pays for the check.
func (s *Store) missing(d blob.Digest) error {
	if _, err := os.Stat(filepath.Join(s.root, "damaged", string(d))); err == nil {
		return blob.ErrDamaged
	}
	return blob.ErrNotFound
}

// Quarantine moves a damaged blob aside, to damaged/ (see the layout).
func (s *Store) Quarantine(ctx context.Context, d blob.Digest) error {
	p, err := s.path(d)
	if err != nil {
		return nil
	}
	if err := os.Rename(p, filepath.Join(s.root, "damaged", string(d))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("quarantining blob %s: %w", d, err)
	}
	return nil
}

// Delete removes the blob if it exists.
func (s *Store) Delete(ctx context.Context, d blob.Digest) error {
	p, err := s.path(d)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting blob %s: %w", d, err)
	}
	return nil
}

type writer struct {
	s    *Store
	f    *os.File
	h    hash.Hash
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("write to finished blob writer")
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	return n, err
}

func (w *writer) Commit(ctx context.Context, want blob.Digest) error {
	if w.done {
		return errors.New("commit of finished blob writer")
	}
	defer w.Abort()
	got := blob.Digest(hex.EncodeToString(w.h.Sum(nil)))
	if got != want {
		return fmt.Errorf("committing blob: got %s, want %s: %w", got, want, blob.ErrDigestMismatch)
	}
	dst, err := w.s.path(want)
	if err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("committing blob %s: %w", want, err)
	}
	if err := w.f.Chmod(0o444); err != nil {
		return fmt.Errorf("committing blob %s: %w", want, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("committing blob %s: %w", want, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("committing blob %s: %w", want, err)
	}
	// The same bytes may already be stored: content addressing makes the
	// rename idempotent, and renaming over an identical file is harmless.
	if err := os.Rename(w.f.Name(), dst); err != nil {
		return fmt.Errorf("committing blob %s: %w", want, err)
	}
	w.done = true
	// Good bytes for a quarantined digest restore it.
	os.Remove(filepath.Join(w.s.root, "damaged", string(want)))
	return syncDir(filepath.Dir(dst))
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// ReadState returns the state object's bytes.
func (s *Store) ReadState(ctx context.Context, name string) ([]byte, error) {
	if err := blob.CheckStateName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(s.root, "state", name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading state %s: %w", name, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading state %s: %w", name, err)
	}
	return b, nil
}

// WriteState replaces the state object durably: the bytes are written to
// tmp/, synced, and renamed over state/<name>.
func (s *Store) WriteState(ctx context.Context, name string, data []byte) error {
	if err := blob.CheckStateName(name); err != nil {
		return err
	}
	if len(data) > blob.MaxStateBytes {
		return fmt.Errorf("writing state %s: %d bytes is over the limit of %d", name, len(data), blob.MaxStateBytes)
	}
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "state-")
	if err != nil {
		return fmt.Errorf("writing state %s: %w", name, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(s.root, "state", name))
	}
	if err != nil {
		return fmt.Errorf("writing state %s: %w", name, err)
	}
	return syncDir(filepath.Join(s.root, "state"))
}
