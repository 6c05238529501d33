package npm

import (
	"net/http"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/trove"
)

// tarball serves GET /E/-/F.tgz: the published bytes, unchanged. The file
// lookup is cached by the registry, so a download does no SQL; small files
// come from the blob cache in memory, others from the fs store through
// sendfile (page.ServeBlob).
func (h *Handler) tarball(w http.ResponseWriter, r *http.Request, req request) error {
	f, err := h.o.Registry.File(r.Context(), trove.NPM, req.name, req.filename)
	if err != nil {
		return err
	}
	rc, err := h.o.Registry.Open(r.Context(), blob.Digest(f.SHA256), 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	// The URL names these bytes forever: filenames are never reused.
	return page.ServeBlob(w, r, rc, page.Blob{ETag: `"` + f.SHA256 + `"`, Size: f.Size, ContentType: "application/octet-stream",
		CacheControl: "public, max-age=31536000, immutable", ModTime: f.CreatedAt})
}
