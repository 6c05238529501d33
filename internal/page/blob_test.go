package page

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestServeBlob(t *testing.T) {
	body := []byte(strings.Repeat("0123456789", 100))
	b := Blob{ETag: `"abc"`, Size: int64(len(body)), ContentType: "application/octet-stream", CacheControl: "immutable", ModTime: time.Unix(1e9, 0)}
	serve := func(method string, hdr map[string]string, rc io.Reader, b Blob) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/f", nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		if err := ServeBlob(w, r, rc, b); err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := serve("GET", nil, bytes.NewReader(body), b)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), body) || w.Header().Get("Content-Length") != "1000" || w.Header().Get("Accept-Ranges") != "bytes" {
		t.Errorf("GET: %d, %d bytes, %v", w.Code, w.Body.Len(), w.Header())
	}
	w = serve("GET", map[string]string{"Range": "bytes=10-19"}, bytes.NewReader(body), b)
	if w.Code != 206 || w.Body.String() != "0123456789" {
		t.Errorf("Range: %d %q", w.Code, w.Body)
	}
	w = serve("GET", map[string]string{"If-None-Match": `"abc"`}, bytes.NewReader(body), b)
	if w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d", w.Code)
	}
	w = serve("HEAD", nil, bytes.NewReader(body), b)
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "1000" {
		t.Errorf("HEAD: %d, %d bytes", w.Code, w.Body.Len())
	}
	// Size unknown: found by seeking.
	unknown := b
	unknown.Size = -1
	if w := serve("GET", nil, bytes.NewReader(body), unknown); w.Header().Get("Content-Length") != "1000" || w.Body.Len() != 1000 {
		t.Errorf("unknown size: %v", w.Header())
	}
	// A reader that cannot seek: whole body, even when a range is asked.
	w = serve("GET", map[string]string{"Range": "bytes=0-1"}, io.MultiReader(bytes.NewReader(body)), b)
	if w.Code != http.StatusOK || w.Body.Len() != 1000 {
		t.Errorf("unseekable with Range: %d, %d bytes", w.Code, w.Body.Len())
	}
}
