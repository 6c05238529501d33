package pypi

import (
	"context"
	"errors"
	"net/http"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/trove"
)

// Content types of served files. Distributions are opaque bytes to HTTP
// (a .tar.gz must not be mistaken for a gzip-encoded response); core
// metadata files are UTF-8 text (checked at upload).
const (
	distContentType     = "application/octet-stream"
	metadataContentType = "text/plain; charset=utf-8"
)

// lookupFile finds the visible file a /packages/ URL names. The URL holds
// no project name, so it is read from the filename; an sdist's filename
// may be read several ways, and the one whose project has the file with
// the URL's digest wins. A digest that does not match is a 404: the URL
// names those exact bytes.
//
// A file of a version the curation policy blocked when its proxied
// project's page was last rendered is refused (proxy.go).
func (h *Handler) lookupFile(ctx context.Context, req request) (*trove.File, error) {
	ds, err := parseFilename(req.filename)
	if err != nil {
		return nil, trove.Error(trove.ErrNotFound, "%w", err)
	}
	for _, d := range ds {
		name := Normalize(d.Name)
		f, err := h.o.Registry.File(ctx, trove.PyPI, trove.Name(name), req.filename)
		if errors.Is(err, trove.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if f.SHA256 == string(req.digest) {
			if !h.upstreamEnabled() {
				return f, nil
			}
			if dec, ok := h.memo.blockedAs(name, d.Version); ok {
				return nil, blockedError(name, d.Version, dec)
			}
			return f, nil
		}
	}
	return nil, fileNotFound(req)
}

// fileNotFound is the answer to a /packages/ URL naming no file Trove
// holds (and no upstream's).
func fileNotFound(req request) error {
	return trove.Error(trove.ErrNotFound, "file %s with sha256 %s not found", req.filename, req.digest)
}

// canReadFile checks, before any cache or upstream is asked, that the
// request may read a project the /packages/ URL's filename may name. When
// every project it may name is private and not readable, the answer is
// that of a file Trove does not hold, without upstreams (a private
// project is local: it is never fetched from an upstream). Otherwise the
// lookups go on, and skip the projects not readable (registry.File
// answers for them as for names never published, and upstreams are asked
// only for names that are not local).
func (h *Handler) canReadFile(ctx context.Context, req request) error {
	ds, err := parseFilename(req.filename)
	if err != nil {
		return nil // lookupFile answers
	}
	for _, d := range ds {
		err := h.o.Registry.CanRead(ctx, trove.PyPI, trove.Name(Normalize(d.Name)))
		if err == nil || !errors.Is(err, trove.ErrNotFound) {
			return err
		}
	}
	return fileNotFound(req)
}

// file serves a distribution file. Yanked files are served too (PEP 592).
// A file of a proxied project that Trove does not hold yet is imported
// from its upstream first.
func (h *Handler) file(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.canReadFile(r.Context(), req); err != nil {
		return err
	}
	err := h.serveFile(w, r, req)
	if errors.Is(err, trove.ErrNotFound) && h.upstreamEnabled() {
		return h.proxyFile(w, r, req)
	}
	return err
}

// serveFile serves a file Trove holds.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, req request) error {
	f, err := h.lookupFile(r.Context(), req)
	if err != nil {
		return err
	}
	return adapter.Download(w, r, h.o.Registry, f, distContentType)
}

// metadata serves a file's core metadata (PEP 658), byte-exact as it was
// in the wheel. Only files whose metadata was extracted have it; that of
// a proxied file not imported yet is the upstream's.
func (h *Handler) metadata(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.canReadFile(r.Context(), req); err != nil {
		return err
	}
	f, err := h.lookupFile(r.Context(), req)
	if errors.Is(err, trove.ErrNotFound) && h.upstreamEnabled() {
		return h.proxyMetadata(w, r, req)
	}
	if err != nil {
		return err
	}
	if f.MetadataSHA256 == "" {
		return trove.Error(trove.ErrNotFound, "%s has no separate core metadata file (only wheels do)", f.Filename)
	}
	return adapter.DownloadBlob(w, r, h.o.Registry, blob.Digest(f.MetadataSHA256), -1, f, metadataContentType)
}
