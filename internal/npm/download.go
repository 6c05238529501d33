package npm

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
)

// tarball serves GET /E/-/F.tgz: the published bytes, unchanged. The file
// lookup is cached by the registry, so a download does no SQL; small files
// come from the blob cache in memory, others from the fs store through
// sendfile (page.ServeBlob).
//
// A private package's tarball (whose lookup answered only a reader) is
// sent with Cache-Control private: the immutable caching of files is
// public, and would let a shared cache in front of Trove (a CDN, a
// company proxy) keep the bytes and hand them to anyone.
func (h *Handler) tarball(w http.ResponseWriter, r *http.Request, req request) error {
	st, err := h.upstreamState(r.Context(), req.name)
	if err != nil {
		return err
	}
	if st != nil {
		return h.proxyTarball(w, r, req, st)
	}
	f, err := h.o.Registry.File(r.Context(), trove.NPM, req.name, req.filename)
	if err != nil {
		return err
	}
	private, err := h.private(r.Context(), req.name)
	if err != nil {
		return err
	}
	if private {
		w = privateCache{w}
	}
	// The URL names these bytes forever: filenames are never reused.
	return adapter.Download(w, r, h.o.Registry, f, "application/octet-stream")
}

// private reports whether a package is private: whether an anonymous
// request may not read it (a map lookup once the registry cached it).
func (h *Handler) private(ctx context.Context, name trove.Name) (bool, error) {
	err := h.o.Registry.CanRead(access.WithPrincipal(ctx, nil), trove.NPM, name)
	if isNotFound(err) {
		return true, nil
	}
	return false, err
}

// privateCache makes a response's Cache-Control private when it is
// written: "public" becomes "private", keeping the other directives
// (max-age, immutable), which the client's own cache may still use.
type privateCache struct{ http.ResponseWriter }

func (p privateCache) fix() {
	h := p.Header()
	if cc := h.Get("Cache-Control"); cc != "" && !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") {
		cc = strings.TrimSpace(strings.Replace(cc, "public", "", 1))
		cc = strings.TrimPrefix(cc, ",")
		h.Set("Cache-Control", strings.TrimSpace("private, "+strings.TrimSpace(cc)))
	}
}

func (p privateCache) WriteHeader(code int) {
	p.fix()
	p.ResponseWriter.WriteHeader(code)
}

func (p privateCache) Write(b []byte) (int, error) {
	p.fix()
	return p.ResponseWriter.Write(b)
}

// ReadFrom keeps the underlying writer's sendfile path.
func (p privateCache) ReadFrom(r io.Reader) (int64, error) {
	p.fix()
	return io.Copy(p.ResponseWriter, r)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (p privateCache) Unwrap() http.ResponseWriter { return p.ResponseWriter }
