package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
)

// An object is an open blob: the body of a (ranged) GET that also seeks,
// so that HTTP range requests work without redirects. A seek only moves
// the position; the next read after a seek elsewhere issues a new ranged
// GET from there.
type object struct {
	s    *Store
	ctx  context.Context
	key  string
	size int64 // of the whole blob
	pos  int64 // where the next read reads

	body    io.ReadCloser // nil when closed
	bodyPos int64         // where body's next byte is
}

// newObject wraps the body of a GET of key from off.
func (s *Store) newObject(ctx context.Context, key string, off int64, body io.ReadCloser, h http.Header) *object {
	size := off + contentLength(h)
	if r := h.Get("Content-Range"); r != "" { // bytes a-b/total
		if _, total, ok := strings.Cut(r, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				size = n
			}
		}
	}
	return &object{s: s, ctx: ctx, key: key, size: size, pos: off, body: body, bodyPos: off}
}

func contentLength(h http.Header) int64 {
	n, _ := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	return n
}

func (o *object) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if o.body == nil || o.bodyPos != o.pos {
		if err := o.reopen(); err != nil {
			return 0, err
		}
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos += int64(n)
	return n, err
}

// reopen starts a new GET at the current position.
func (o *object) reopen() error {
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
	wctx, st := o.s.watch(o.ctx)
	var opts minio.GetObjectOptions
	if o.pos > 0 {
		opts.SetRange(o.pos, 0)
	}
	body, _, _, err := o.s.core.GetObject(wctx, o.s.bucket, o.key, opts)
	if err != nil {
		st.stop()
		return fmt.Errorf("reading %s at %d: %w", o.key, o.pos, err)
	}
	o.body, o.bodyPos = &watchedBody{rc: body, st: st}, o.pos
	return nil
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.pos
	case io.SeekEnd:
		offset += o.size
	default:
		return 0, errors.New("seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	o.pos = offset
	return offset, nil
}

func (o *object) Close() error {
	if o.body == nil {
		return nil
	}
	err := o.body.Close()
	o.body = nil
	return err
}
