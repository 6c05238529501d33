package s3blob

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/minio/minio-go/v7"

	"github.com/trove-dev/trove/internal/blob"
)

// Create starts a blob spooled to a local file, which is unlinked at once
// so that nothing survives the process (see the package doc).
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	f, err := os.CreateTemp(s.spool, "trove-s3-upload-")
	if err != nil {
		return nil, fmt.Errorf("creating blob: %w", err)
	}
	w := &writer{s: s, f: f, h: sha256.New()}
	// Where an open file cannot be unlinked, Abort and Commit remove it.
	w.unlinked = os.Remove(f.Name()) == nil
	return w, nil
}

type writer struct {
	s        *Store
	f        *os.File
	h        hash.Hash
	n        int64
	err      error // the first error writing the spool file
	unlinked bool
	done     bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("write to finished blob writer")
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// Commit uploads the spooled bytes under want with one PUT, if and only if
// they have that digest, then removes a quarantined copy of it (the good
// bytes restore it).
func (w *writer) Commit(ctx context.Context, want blob.Digest) error {
	if w.done {
		return errors.New("commit of finished blob writer")
	}
	defer w.Abort()
	if w.err != nil {
		return fmt.Errorf("committing blob: spooling: %w", w.err)
	}
	sum := w.h.Sum(nil)
	if got := blob.Digest(hex.EncodeToString(sum)); got != want {
		return fmt.Errorf("committing blob: got %s, want %s: %w", got, want, blob.ErrDigestMismatch)
	}
	if w.n > MaxBlobBytes {
		return fmt.Errorf("committing blob %s: %d bytes is over the S3 store's limit of %d (one PUT)", want, w.n, int64(MaxBlobBytes))
	}
	key, err := w.s.blobKey(want)
	if err != nil {
		return err
	}
	if err := w.s.put(ctx, key, io.NewSectionReader(w.f, 0, w.n), w.n, sum); err != nil {
		return fmt.Errorf("committing blob %s: %w", want, err)
	}
	w.close()
	cctx, cancel := w.s.call(ctx)
	defer cancel()
	if err := w.s.client.RemoveObject(cctx, w.s.bucket, w.s.damagedKey(want), minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("committing blob %s: removing its quarantined copy: %w", want, err)
	}
	return nil
}

// Abort discards the spooled bytes. It does nothing after Commit.
func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.close()
	return nil
}

func (w *writer) close() {
	w.done = true
	w.f.Close()
	if !w.unlinked {
		os.Remove(w.f.Name())
		w.unlinked = true
	}
}

// put uploads size bytes of r, whose SHA-256 is sum, to key with one PUT
// that S3 can verify: the request is signed with sum as its payload hash
// (x-amz-content-sha256) and carries it as x-amz-checksum-sha256. The
// transfer is cut once it makes no progress for the timeout.
func (s *Store) put(ctx context.Context, key string, r io.ReadSeeker, size int64, sum []byte) error {
	wctx, st := s.watch(ctx)
	defer st.stop()
	opts := minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		// The payload hash is given (sum), not computed by minio-go, and
		// no aws-chunked streaming signature is used: S3 checks the body
		// against sum.
		DisableContentSha256: true,
		UserMetadata:         map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum)},
	}
	_, err := s.core.PutObject(wctx, s.bucket, key, &watchedUpload{r: r, st: st}, size, "", hex.EncodeToString(sum), opts)
	if err != nil && wctx.Err() != nil {
		return fmt.Errorf("%w (%w)", err, context.Cause(wctx))
	}
	return err
}
