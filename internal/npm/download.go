package npm

import (
	"net/http"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
)

// tarball serves GET /E/-/F.tgz: the published bytes, unchanged. The file
// lookup is cached by the registry, so a download does no SQL; small files
// come from the blob cache in memory, others from the fs store through
// sendfile (page.ServeBlob).
//
// A private package's tarball (whose lookup answered only a reader) is
// sent with Cache-Control private (adapter.PrivateImmutable).
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
	// The URL names these bytes forever: filenames are never reused.
	return adapter.Download(w, r, h.o.Registry, f, "application/octet-stream")
}
