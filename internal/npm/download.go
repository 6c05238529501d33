package npm

import (
	"io"
	"net/http"
	"strconv"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/registry"
)

// tarball serves GET /E/-/F.tgz: the published bytes, unchanged. The file
// lookup is cached by the registry, so a download does no SQL; the fs blob
// store hands over an *os.File, which http.ServeContent sends with
// sendfile and which answers Range requests.
func (h *Handler) tarball(w http.ResponseWriter, r *http.Request, req request) error {
	f, err := h.o.Registry.File(r.Context(), registry.NPM, req.name, req.filename)
	if err != nil {
		return err
	}
	rc, err := h.o.Registry.Open(r.Context(), blob.Digest(f.SHA256), 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("ETag", `"`+f.SHA256+`"`)
	// The URL names these bytes forever: filenames are never reused.
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", f.CreatedAt, rs)
		return nil
	}
	// A store without seeking: no ranges, but conditional requests still work.
	if inm := r.Header.Get("If-None-Match"); inm == `"`+f.SHA256+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hd.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = io.Copy(w, rc)
	return err
}
