package page

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

// A Blob describes immutable bytes to serve: a package file or a metadata
// file extracted from one.
type Blob struct {
	ETag         string // strong, quoted: the content digest
	Size         int64  // -1 if unknown (then found by seeking)
	ContentType  string
	CacheControl string
	ModTime      time.Time
}

// ServeBlob writes immutable bytes read from rc with conditional (ETag)
// and Range requests, in as few system calls as it can: bytes held in
// memory go out in one write, local files through sendfile. Range
// requests need a seekable rc (every local store gives one); without one
// the whole body is sent, which HTTP allows.
func ServeBlob(w http.ResponseWriter, r *http.Request, rc io.Reader, b Blob) error {
	h := w.Header()
	h.Set("Content-Type", b.ContentType)
	h.Set("ETag", b.ETag)
	h.Set("Cache-Control", b.CacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	rs, seekable := rc.(io.ReadSeeker)
	if r.Header.Get("Range") != "" && seekable {
		http.ServeContent(w, r, "", b.ModTime, rs)
		return nil
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, b.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	size := b.Size
	if size < 0 && seekable {
		n, err := rs.Seek(0, io.SeekEnd)
		if err != nil {
			return err
		}
		if _, err := rs.Seek(0, io.SeekStart); err != nil {
			return err
		}
		size = n
	}
	if seekable {
		h.Set("Accept-Ranges", "bytes")
	}
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	if !b.ModTime.IsZero() {
		h.Set("Last-Modified", b.ModTime.UTC().Format(http.TimeFormat))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	// io.Copy lets a bytes.Reader write itself at once (WriterTo) and an
	// *os.File reach the connection's sendfile (ReaderFrom).
	_, err := io.Copy(w, rc)
	return err
}
