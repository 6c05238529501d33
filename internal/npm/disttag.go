package npm

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
)

// maxTagLen bounds a dist-tag name.
const maxTagLen = 128

// semverRange matches the node-semver ranges that can be written with the
// characters encodeURIComponent leaves alone: "1", "1.x", "~1.2",
// "v1.2.3-beta.1", "*". npm refuses such dist-tags, since "npm install
// pkg@1" would be ambiguous.
var semverRange = regexp.MustCompile(`^~?v?(?:[xX*]|0|[1-9][0-9]*)(?:\.(?:[xX*]|0|[1-9][0-9]*)(?:\.(?:[xX*]|0|[1-9][0-9]*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?$`)

// checkTag validates a dist-tag name as npm does: not empty, unchanged by
// encodeURIComponent, and not a semver version or range.
func checkTag(tag string) error {
	bad := func(why string) error {
		return trove.Error(trove.ErrInvalid, "invalid dist-tag %q: %s", tag, why)
	}
	if tag == "" {
		return bad("empty")
	}
	if len(tag) > maxTagLen {
		return bad("longer than 128 characters")
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0) {
			return bad("use only letters, digits and - _ . ! ~ * ' ( )")
		}
	}
	if semverRange.MatchString(tag) {
		return bad("a tag must not be a semver version or range")
	}
	return nil
}

// setDistTag serves PUT /-/package/E/dist-tags/T with a JSON string body
// naming the version.
func (h *Handler) setDistTag(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "changing dist-tags")
	if err != nil {
		return err
	}
	if err := checkTag(req.arg); err != nil {
		return err
	}
	body, err := adapter.ReadBody(w, r, 4<<10, "the dist-tag request")
	if err != nil {
		return err
	}
	var version string
	if err := decodeJSON(body, &version, `the body (a JSON string such as "1.2.3")`); err != nil {
		return err
	}
	if _, err := (Rules{}).VersionKey(version); err != nil {
		return trove.Error(trove.ErrInvalid, "%w", err)
	}
	if err := h.o.Registry.CheckScope(who, access.Publish, trove.NPM, string(req.name)); err != nil {
		return err
	}
	t := trove.Target{Ecosystem: trove.NPM, Name: string(req.name), Version: version}
	if err := h.o.Registry.SetDistTag(r.Context(), who, t, req.arg); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

// removeDistTag serves DELETE /-/package/E/dist-tags/T.
func (h *Handler) removeDistTag(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "changing dist-tags")
	if err != nil {
		return err
	}
	if req.arg == "latest" {
		return trove.Error(trove.ErrInvalid, "the latest dist-tag cannot be removed: point it at another version with npm dist-tag add %s@<version> latest", req.name)
	}
	if err := h.o.Registry.CheckScope(who, access.Publish, trove.NPM, string(req.name)); err != nil {
		return err
	}
	t := trove.Target{Ecosystem: trove.NPM, Name: string(req.name)}
	if err := h.o.Registry.RemoveDistTag(r.Context(), who, t, req.arg); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

func isNotFound(err error) bool { return errors.Is(err, trove.ErrNotFound) }
