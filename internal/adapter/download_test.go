package adapter_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/trove"
)

// presigning is a memblob that hands out URLs, as an S3 store with
// redirects on does: only for blobs in service.
type presigning struct {
	*memblob.Store
	asked []blob.PresignOptions
}

func (p *presigning) PresignGet(ctx context.Context, d blob.Digest, o blob.PresignOptions) (string, error) {
	if _, err := p.Stat(ctx, d); err != nil {
		return "", err
	}
	p.asked = append(p.asked, o)
	return "https://blobs.example.test/" + string(d) + "?X-Amz-Signature=x", nil
}

func newRegistry(t *testing.T, s blob.Store) *registry.Service {
	t.Helper()
	db, err := meta.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.New(registry.Config{DB: db, Blobs: s, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func download(t *testing.T, reg *registry.Service, method string, d blob.Digest, size int64, header ...string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	r := httptest.NewRequest(method, "/pkg/-/pkg-1.0.0.tgz", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	err := adapter.Download(w, r, reg, &trove.File{SHA256: string(d), Size: size, CreatedAt: time.Unix(1e9, 0)}, "application/octet-stream")
	return w, err
}

func TestDownloadRedirectsToPresignedURL(t *testing.T) {
	data := []byte("package bytes")
	d := blob.Sum(data)
	ps := &presigning{Store: memblob.New()}
	blob.Put(context.Background(), ps, bytes.NewReader(data), d)
	// As wired: the metrics wrapper, then the cache; neither hides the ability.
	wrapped := blob.NewCache(server.NewMetrics().CountBlobErrors(ps), 1<<20, 1<<10)
	reg := newRegistry(t, wrapped)

	w, err := download(t, reg, "GET", d, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != adapter.RedirectStatus || w.Header().Get("Location") != "https://blobs.example.test/"+string(d)+"?X-Amz-Signature=x" {
		t.Fatalf("GET = %d Location %q, want %d to the presigned URL", w.Code, w.Header().Get("Location"), adapter.RedirectStatus)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("redirect Cache-Control = %q, want no-store (the URL expires)", cc)
	}
	if got := ps.asked[0]; got.ContentType != "application/octet-stream" || got.Filename != "pkg-1.0.0.tgz" {
		t.Errorf("presigned with %+v, want the content type and the URL's filename", got)
	}

	// HEAD: the URL is signed for GET only, so Trove answers.
	w, err = download(t, reg, "HEAD", d, int64(len(data)))
	if err != nil || w.Code != 200 || w.Header().Get("Content-Length") != "13" || w.Header().Get("Location") != "" {
		t.Errorf("HEAD = %d %v (Content-Length %q, Location %q), want 200 served here", w.Code, err, w.Header().Get("Content-Length"), w.Header().Get("Location"))
	}
	// A revalidation is answered here: 304, no redirect.
	w, err = download(t, reg, "GET", d, int64(len(data)), "If-None-Match", `"`+string(d)+`"`)
	if err != nil || w.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d %v, want 304", w.Code, err)
	}
}

func TestDownloadNeverRedirectsToDamagedOrMissing(t *testing.T) {
	data := []byte("damaged bytes")
	d := blob.Sum(data)
	ps := &presigning{Store: memblob.New()}
	blob.Put(context.Background(), ps, bytes.NewReader(data), d)
	ps.Quarantine(context.Background(), d)
	reg := newRegistry(t, blob.NewCache(ps, 1<<20, 1<<10))
	w, err := download(t, reg, "GET", d, int64(len(data)))
	if !errors.Is(err, blob.ErrDamaged) || w.Header().Get("Location") != "" {
		t.Errorf("GET of a quarantined blob = %d %v, Location %q; want ErrDamaged and no redirect", w.Code, err, w.Header().Get("Location"))
	}
	missing := blob.Sum([]byte("never stored"))
	w, err = download(t, reg, "GET", missing, 1)
	if !errors.Is(err, blob.ErrNotFound) || w.Header().Get("Location") != "" {
		t.Errorf("GET of a missing blob = %d %v, Location %q; want ErrNotFound and no redirect", w.Code, err, w.Header().Get("Location"))
	}
}

func TestDownloadWithoutPresignerServesBytes(t *testing.T) {
	data := []byte("served here")
	d := blob.Sum(data)
	s := memblob.New()
	blob.Put(context.Background(), s, bytes.NewReader(data), d)
	reg := newRegistry(t, blob.NewCache(server.NewMetrics().CountBlobErrors(s), 1<<20, 1<<10))
	w, err := download(t, reg, "GET", d, int64(len(data)))
	if err != nil || w.Code != 200 || w.Body.String() != string(data) {
		t.Errorf("GET = %d %v %q, want 200 with the bytes", w.Code, err, w.Body.String())
	}
}
