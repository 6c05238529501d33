// Package adapter is the kit that Trove's protocol adapters (npm, pypi,
// goproxy, api, and every later ecosystem) are built from, so that each
// writes only what its protocol says: request bodies and multipart forms
// read within limits, endpoints that refuse a method, error bodies in
// plain text or JSON, and the one path by which a published file is
// downloaded.
//
// # Limits
//
// Bodies are read through http.MaxBytesReader and grow only as bytes
// arrive: a Content-Length is never trusted for an allocation. Errors are
// the categories of package trove (ErrTooLarge for a body over its limit,
// ErrInvalid for a malformed or interrupted one), with messages that name
// what was being read.
package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Immutable is the Cache-Control of responses whose URL names their bytes
// forever (files: filenames are never reused).
const Immutable = "public, max-age=31536000, immutable"

// PrivateImmutable is Immutable for the files of private packages: the
// client's own cache keeps them, a shared cache in front of Trove (a CDN,
// a company proxy) must not, or it would hand them to anyone.
const PrivateImmutable = "private, max-age=31536000, immutable"

// An Endpoint serves a request; its error becomes the response.
type Endpoint = func(http.ResponseWriter, *http.Request) error

// Methods returns an endpoint that refuses the request's method; allow
// lists the methods the URL takes, as in an Allow header ("GET, HEAD").
func Methods(allow string) Endpoint {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return trove.Error(trove.ErrUnsupported, "%s is not allowed on %s; use %s", r.Method, access.Redact(r.URL.Path), allow)
	}
}

// WriteText writes a plain-text error body. A 401 carries the challenge
// (a WWW-Authenticate value) when it is not "".
func WriteText(w http.ResponseWriter, status int, msg, challenge string) {
	hdr := w.Header()
	if status == http.StatusUnauthorized && challenge != "" {
		hdr.Set("WWW-Authenticate", challenge)
	}
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Del("Content-Length")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// WriteJSON writes v as a JSON body, not to be cached.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadBody reads a whole request body of at most limit bytes; what names
// it in errors ("the publish request").
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, trove.Error(trove.ErrTooLarge, "%s is larger than the limit of %d bytes", what, limit)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		return nil, BodyError(what, err)
	}
	return buf.Bytes(), nil
}

// BodyError classifies an error reading a request body: over its limit
// (ErrTooLarge), or malformed or interrupted (ErrInvalid).
func BodyError(what string, err error) error {
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return trove.Error(trove.ErrTooLarge, "%s is larger than the limit of %d bytes", what, mbe.Limit)
	}
	return trove.Error(trove.ErrInvalid, "reading %s: %w", what, err)
}

// A Form reads a multipart/form-data request body part by part, with a
// limit on the whole body and on the number of parts.
type Form struct {
	mr       *multipart.Reader
	parts    int
	maxParts int
}

// NewForm starts reading r's body, of at most limit bytes and maxParts
// parts, as a multipart form. usage says what the form must hold, for the
// error when the body is not a form.
func NewForm(w http.ResponseWriter, r *http.Request, limit int64, maxParts int, usage string) (*Form, error) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, trove.Error(trove.ErrInvalid, "the upload must be a multipart/form-data POST %s: %w", usage, err)
	}
	return &Form{mr: mr, maxParts: maxParts}, nil
}

// Next returns the next part, or io.EOF after the last.
func (f *Form) Next() (*multipart.Part, error) {
	p, err := f.mr.NextPart()
	switch {
	case err == io.EOF:
		return nil, err
	case err != nil:
		return nil, BodyError("the upload form", err)
	}
	if f.parts++; f.parts > f.maxParts {
		return nil, trove.Error(trove.ErrTooLarge, "the upload form has more than %d parts", f.maxParts)
	}
	return p, nil
}

// ReadPart reads a part of at most limit bytes; what names it in errors.
func ReadPart(p *multipart.Part, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p, limit+1))
	if err != nil {
		return nil, BodyError(what, err)
	}
	if int64(len(b)) > limit {
		return nil, trove.Error(trove.ErrTooLarge, "%s is larger than the limit of %d bytes", what, limit)
	}
	return b, nil
}

// StagePart spools a part of at most limit bytes with reg.Stage,
// computing every digest as it arrives. what names the part in errors,
// and limitName the limit ("the module zip is larger than the limit of
// N bytes").
func StagePart(reg *registry.Service, p *multipart.Part, limit int64, what, limitName string) (*registry.Staged, error) {
	body := &errReader{r: p}
	st, err := reg.Stage(body, limit)
	switch {
	case body.err != nil:
		return nil, BodyError("receiving "+what, body.err)
	case errors.Is(err, trove.ErrTooLarge):
		return nil, trove.Error(trove.ErrTooLarge, "%s is larger than the %s of %d bytes", what, limitName, limit)
	}
	return st, err
}

// errReader remembers the error of the reader it wraps, so that an
// interrupted body is told apart from a staging failure.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// Download writes a visible file of the registry, found with
// Registry.File: its bytes as published, under an ETag of its digest and
// with immutable caching, Range and conditional requests answered.
//
// A GET of the whole file, or of a range from its first byte, counts as
// one download of the package (registry.CountDownload); HEAD requests and
// resumed downloads do not.
func Download(w http.ResponseWriter, r *http.Request, reg *registry.Service, f *trove.File, contentType string) error {
	if r.Method == http.MethodGet && (r.Header.Get("Range") == "" || strings.HasPrefix(r.Header.Get("Range"), "bytes=0-")) {
		reg.CountDownload(f.PackageID)
	}
	return DownloadBlob(w, r, reg, blob.Digest(f.SHA256), f.Size, f, contentType)
}

// DownloadBlob writes a blob that belongs to the file f (the file itself,
// or metadata extracted from it) of the given size.
func DownloadBlob(w http.ResponseWriter, r *http.Request, reg *registry.Service, d blob.Digest, size int64, f *trove.File, contentType string) error {
	if done, err := redirect(w, r, reg, d, contentType); done || err != nil {
		return err
	}
	rc, err := reg.Open(r.Context(), d, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	cc := Immutable
	if f.Private {
		cc = PrivateImmutable
	}
	return page.ServeBlob(w, r, rc, page.Blob{ETag: `"` + string(d) + `"`, Size: size, ContentType: contentType,
		CacheControl: cc, ModTime: f.CreatedAt})
}

// RedirectStatus is the status of a redirect to a presigned download URL.
// npm, pip and the go command follow 302 and 307 alike for a GET; 307
// also forbids a client to change the method, so it cannot be misread.
const RedirectStatus = http.StatusTemporaryRedirect

// redirect answers a plain GET with a redirect to a short-lived URL of the
// blob in the blob store, when the store hands them out (the s3 backend
// with storage.s3.redirect): the bytes then go from the store straight to
// the client, whose own checks (npm integrity, pip hashes, the go checksum
// database) verify them. A HEAD is answered here (the URL is signed for
// GET only), and so is a conditional GET, which is usually a 304. A blob
// that is missing or quarantined is never redirected to.
func redirect(w http.ResponseWriter, r *http.Request, reg *registry.Service, d blob.Digest, contentType string) (bool, error) {
	if r.Method != http.MethodGet || r.Header.Get("If-None-Match") != "" {
		return false, nil
	}
	u, ok, err := reg.DownloadURL(r.Context(), d, blob.PresignOptions{ContentType: contentType, Filename: path.Base(r.URL.Path)})
	if err != nil || !ok {
		return err != nil, err
	}
	// The URL expires: no cache may keep the redirect.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, RedirectStatus)
	return true, nil
}
