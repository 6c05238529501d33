package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// Static files are served at /-/static/<base>.<hash>.<ext>: the hash (of
// the content) changes with the file, so a response may be cached for
// good (Cache-Control immutable).
const staticPrefix = "/-/static/"

type staticFile struct {
	name    string // as in static/
	url     string
	content []byte
	ctype   string
}

// staticFiles are the embedded files, by versioned name and by name.
type staticFiles struct {
	byURL  map[string]*staticFile
	byName map[string]*staticFile
}

func loadStatic() (staticFiles, error) {
	sf := staticFiles{byURL: map[string]*staticFile{}, byName: map[string]*staticFile{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(b)
		ext := path.Ext(name)
		f := &staticFile{name: name, content: b, ctype: mime.TypeByExtension(ext),
			url: staticPrefix + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext}
		sf.byURL[f.url], sf.byName[name] = f, f
		return nil
	})
	return sf, err
}

// url returns the versioned URL of a static file.
func (sf staticFiles) url(name string) (string, error) {
	f, ok := sf.byName[name]
	if !ok {
		return "", fmt.Errorf("no static file %s", name)
	}
	return f.url, nil
}

// serveStatic serves GET /-/static/….
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	f, ok := h.files.byURL[r.URL.Path]
	if !ok {
		h.notFound(w, r)
		return nil
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.content))
	return nil
}
