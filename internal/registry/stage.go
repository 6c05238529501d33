package registry

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/trove"
)

// A Staged file is an artifact received from a client, spooled to a local
// temporary file while every digest is computed in the same pass. Adapters
// parse it (it is an io.ReaderAt) before handing it to Publish, which
// copies it into the blob store. Close removes it.
type Staged struct {
	f       *os.File
	Digests blob.Digests
}

// Stage spools r, refusing it with ErrTooLarge as soon as it exceeds limit
// bytes: nothing beyond the limit is read or written.
func (s *Service) Stage(r io.Reader, limit int64) (*Staged, error) {
	f, err := os.CreateTemp(s.tempDir, "stage-")
	if err != nil {
		return nil, fmt.Errorf("staging upload: %w", err)
	}
	h := blob.NewHasher()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 64<<10)
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("receiving upload: %w", err)
	}
	if n > limit {
		f.Close()
		os.Remove(f.Name())
		return nil, trove.Error(trove.ErrTooLarge, "upload is larger than the limit of %d bytes", limit)
	}
	return &Staged{f: f, Digests: h.Digests()}, nil
}

// removeStaleStages removes staged uploads older than cutoff, left behind
// by a process that died while checking them. Younger ones may belong to
// another process sharing the directory.
func removeStaleStages(dir string, cutoff time.Time) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "stage-") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// ReadAt reads the staged bytes at off.
func (st *Staged) ReadAt(p []byte, off int64) (int, error) { return st.f.ReadAt(p, off) }

// Path returns the name of the staged file, for readers that need one
// (golang.org/x/mod/zip.CheckZip). It must not be written or removed.
func (st *Staged) Path() string { return st.f.Name() }

// Size returns the number of staged bytes.
func (st *Staged) Size() int64 { return st.Digests.Size }

// Reader returns a reader over all staged bytes.
func (st *Staged) Reader() io.Reader { return io.NewSectionReader(st.f, 0, st.Digests.Size) }

// Close removes the staged file.
func (st *Staged) Close() error {
	st.f.Close()
	return os.Remove(st.f.Name())
}
