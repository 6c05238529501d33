package s3blob

import (
	"context"
	"fmt"
	"io"
	"time"
)

// A stall cancels a transfer's context once it has made no progress for
// the store's timeout: a download or upload may take as long as it needs,
// but never hangs.
type stall struct {
	t      *time.Timer
	d      time.Duration
	cancel context.CancelCauseFunc
}

// watch returns a context that a stall cancels.
func (s *Store) watch(ctx context.Context) (context.Context, *stall) {
	ctx, cancel := context.WithCancelCause(ctx)
	st := &stall{d: s.timeout, cancel: cancel}
	st.t = time.AfterFunc(s.timeout, func() {
		cancel(fmt.Errorf("s3 transfer made no progress for %s", s.timeout))
	})
	return ctx, st
}

// progress restarts the stall's clock.
func (st *stall) progress() { st.t.Reset(st.d) }

// stop ends the watch and releases the context.
func (st *stall) stop() {
	st.t.Stop()
	st.cancel(nil)
}

// watchedBody is a download: each read that returns bytes is progress.
type watchedBody struct {
	rc io.ReadCloser
	st *stall
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.st.progress()
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.st.stop()
	return b.rc.Close()
}

// watchedUpload is an upload's body: each read the HTTP client makes is
// progress. It seeks, so that minio-go can retry the request.
type watchedUpload struct {
	r  io.ReadSeeker
	st *stall
}

func (u *watchedUpload) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if n > 0 {
		u.st.progress()
	}
	return n, err
}

func (u *watchedUpload) Seek(off int64, whence int) (int64, error) { return u.r.Seek(off, whence) }
