package pypi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/trove"
)

// Content types of served files. Distributions are opaque bytes to HTTP
// (a .tar.gz must not be mistaken for a gzip-encoded response); core
// metadata files are UTF-8 text (checked at upload).
const (
	distContentType     = "application/octet-stream"
	metadataContentType = "text/plain; charset=utf-8"
	immutable           = "public, max-age=31536000, immutable"
)

// lookupFile finds the visible file a /packages/ URL names. The URL holds
// no project name, so it is read from the filename; an sdist's filename
// may be read several ways, and the one whose project has the file with
// the URL's digest wins. A digest that does not match is a 404: the URL
// names those exact bytes.
func (h *Handler) lookupFile(ctx context.Context, req request) (*trove.File, error) {
	ds, err := parseFilename(req.filename)
	if err != nil {
		return nil, trove.Error(trove.ErrNotFound, "%v", err)
	}
	for _, d := range ds {
		f, err := h.o.Registry.File(ctx, trove.PyPI, trove.Name(Normalize(d.Name)), req.filename)
		if errors.Is(err, trove.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if f.SHA256 == string(req.digest) {
			return f, nil
		}
	}
	return nil, trove.Error(trove.ErrNotFound, "file %s with sha256 %s not found", req.filename, req.digest)
}

// file serves a distribution file. Yanked files are served too (PEP 592).
func (h *Handler) file(w http.ResponseWriter, r *http.Request, req request) error {
	f, err := h.lookupFile(r.Context(), req)
	if err != nil {
		return err
	}
	return h.serveBlob(w, r, blob.Digest(f.SHA256), f.Size, f.CreatedAt, distContentType)
}

// metadata serves a file's core metadata (PEP 658), byte-exact as it was
// in the wheel. Only files whose metadata was extracted have it.
func (h *Handler) metadata(w http.ResponseWriter, r *http.Request, req request) error {
	f, err := h.lookupFile(r.Context(), req)
	if err != nil {
		return err
	}
	if f.MetadataSHA256 == "" {
		return trove.Error(trove.ErrNotFound, "%s has no separate core metadata file (only wheels do)", f.Filename)
	}
	return h.serveBlob(w, r, blob.Digest(f.MetadataSHA256), -1, f.CreatedAt, metadataContentType)
}

// serveBlob serves immutable bytes with Range and conditional requests
// (page.ServeBlob). size is -1 if unknown.
func (h *Handler) serveBlob(w http.ResponseWriter, r *http.Request, d blob.Digest, size int64, mod time.Time, contentType string) error {
	rc, err := h.o.Registry.Open(r.Context(), d, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	return page.ServeBlob(w, r, rc, page.Blob{ETag: `"` + string(d) + `"`, Size: size, ContentType: contentType,
		CacheControl: immutable, ModTime: mod})
}
