package pypi

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// The archive builders of every package's tests.
type (
	zipEntry = archivetest.ZipEntry
	tarEntry = archivetest.TarEntry
)

var (
	makeZip   = archivetest.Zip
	makeTarGz = archivetest.TarGz
)

// metadataFor returns core metadata for a project, with extra header
// lines and a description body.
func metadataFor(name, version string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: The %s project\n", name, version, name)
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	fmt.Fprintf(&b, "\n# %s\n\nA test project.\n", name)
	return b.String()
}

// escaped returns a project name as it appears in wheel filenames.
func escaped(name string) string { return strings.ReplaceAll(Normalize(name), "-", "_") }

// wheelFilename returns the filename of a pure-Python wheel.
func wheelFilename(name, version string) string {
	return escaped(name) + "-" + version + "-py3-none-any.whl"
}

// makeWheel returns a wheel holding the METADATA md and extra entries.
func makeWheel(t testing.TB, name, version, md string, extra ...zipEntry) []byte {
	t.Helper()
	di := escaped(name) + "-" + version + ".dist-info/"
	entries := []zipEntry{
		{Name: escaped(name) + "/__init__.py", Body: "VALUE = 1\n"},
		{Name: di + "METADATA", Body: md},
		{Name: di + "WHEEL", Body: "Wheel-Version: 1.0\nGenerator: trove-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	entries = append(entries, extra...)
	return makeZip(t, append(entries, recordOf(di+"RECORD", entries))...)
}

// recordOf returns the RECORD at path listing the files among entries with
// their sha256 hashes and sizes, and itself, as wheel builders write it.
func recordOf(path string, entries []zipEntry) zipEntry {
	var b strings.Builder
	for _, e := range entries {
		if strings.HasSuffix(e.Name, "/") {
			continue
		}
		s := sha256.Sum256([]byte(e.Body))
		fmt.Fprintf(&b, "%s,sha256=%s,%d\n", e.Name, base64.RawURLEncoding.EncodeToString(s[:]), len(e.Body))
	}
	b.WriteString(path + ",,\n")
	return zipEntry{Name: path, Body: b.String()}
}

// makeSdist returns a .tar.gz sdist holding PKG-INFO pkgInfo and extra entries.
func makeSdist(t testing.TB, name, version, pkgInfo string, extra ...tarEntry) []byte {
	t.Helper()
	root := name + "-" + version + "/"
	entries := []tarEntry{
		{Name: root, Type: tar.TypeDir},
		{Name: root + "PKG-INFO", Body: pkgInfo},
		{Name: root + "pyproject.toml", Body: "[build-system]\n"},
	}
	return makeTarGz(t, append(entries, extra...)...)
}

// A formField is one part of an upload form, in order.
type formField struct{ k, v string }

// twineForm returns the fields twine 4 sends for a file, without content.
func twineForm(kind, name, version string, content []byte) []formField {
	s := sha256.Sum256(content)
	m := md5.Sum(content)
	b2 := blake2b.Sum256(content)
	py := "source"
	if kind == kindWheel {
		py = "py3"
	}
	return []formField{
		{"name", name}, {"version", version}, {"filetype", kind}, {"pyversion", py},
		{"metadata_version", "2.1"}, {"summary", "The " + name + " project"}, {"description", "# " + name},
		{"sha256_digest", hex.EncodeToString(s[:])}, {"md5_digest", hex.EncodeToString(m[:])},
		{"blake2_256_digest", hex.EncodeToString(b2[:])}, {":action", "file_upload"}, {"protocol_version", "1"},
	}
}

// set replaces (or with del removes) a field of a form.
func set(fields []formField, k, v string) []formField {
	var out []formField
	done := false
	for _, f := range fields {
		if f.k == k {
			if !done && v != "\x00del" {
				out = append(out, formField{k, v})
			}
			done = true
			continue
		}
		out = append(out, f)
	}
	if !done && v != "\x00del" {
		out = append(out, formField{k, v})
	}
	return out
}

const del = "\x00del"

// multipartBody encodes fields and the file (after the fields, or before
// them with contentFirst) as twine does.
func multipartBody(t testing.TB, fields []formField, filename string, content []byte, contentFirst bool) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	writeContent := func() {
		if content == nil {
			return
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename="%s"`, filename))
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
	}
	if contentFirst {
		writeContent()
	}
	for _, f := range fields {
		mw.WriteField(f.k, f.v)
	}
	if !contentFirst {
		writeContent()
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// testEnv is a Trove serving PyPI over SQLite and memblob.
type testEnv struct {
	*servertest.Env
	h     *Handler
	url   string // the PyPI root
	alice *trove.User
	token string // alice's, for every package and action
}

func newTestEnv(t testing.TB, opts ...func(*Options)) *testEnv {
	t.Helper()
	return newTestEnvOf(t, func(_ *testEnv, o *Options) {
		for _, f := range opts {
			f(o)
		}
	})
}

// newTestEnvOf is newTestEnv with options made from the env's parts.
func newTestEnvOf(t testing.TB, opt func(*testEnv, *Options)) *testEnv {
	t.Helper()
	return newTestEnvWith(t, servertest.Options{}, opt)
}

// newTestEnvWith is newTestEnvOf on a stack with the options so (its
// rules are PyPI's).
func newTestEnvWith(t testing.TB, so servertest.Options, opt func(*testEnv, *Options)) *testEnv {
	t.Helper()
	so.Rules = []registry.Rules{Rules{}}
	env := servertest.New(t, so)
	e := &testEnv{Env: env}
	env.Start(t, func(base string) []server.Mount {
		o := Options{Registry: env.Registry, Pages: env.Pages, BaseURL: base + "/pypi", MaxUploadBytes: 8 << 20}
		opt(e, &o)
		e.h = New(o)
		return []server.Mount{{Prefix: "/pypi", Ecosystem: "pypi", Adapter: e.h}}
	})
	e.url = env.URL + "/pypi"
	e.alice = env.User(t, "alice", false)
	e.token = env.Token(t, e.alice, nil)
	return e
}

// A response is a read HTTP response.
type response struct {
	*http.Response
	body string
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	r := servertest.Do(t, req)
	return response{r.Response, r.Text}
}

var principal = servertest.Principal

// get fetches a URL below the PyPI root with optional header pairs.
func (e *testEnv) get(t testing.TB, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest("GET", e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

// post uploads a form with a token ("" for none).
func (e *testEnv) post(t testing.TB, token string, fields []formField, filename string, content []byte) response {
	t.Helper()
	body, ct := multipartBody(t, fields, filename, content, false)
	return e.postRaw(t, token, body, ct)
}

func (e *testEnv) postRaw(t testing.TB, token string, body io.Reader, contentType string) response {
	t.Helper()
	req := servertest.Request(t, "POST", e.url+"/legacy/", body, "Content-Type", contentType)
	if token != "" {
		req.SetBasicAuth("__token__", token)
	}
	return do(t, req)
}

// uploadWheel uploads a standard wheel and fails the test unless it is accepted.
func (e *testEnv) uploadWheel(t testing.TB, name, version string, extra ...string) []byte {
	t.Helper()
	w := makeWheel(t, name, version, metadataFor(name, version, extra...))
	if r := e.post(t, e.token, twineForm(kindWheel, name, version, w), wheelFilename(name, version), w); r.StatusCode != 200 {
		t.Fatalf("uploading the wheel of %s %s: %s %s", name, version, r.Status, r.body)
	}
	return w
}

// uploadSdist uploads a standard sdist and fails the test unless it is accepted.
func (e *testEnv) uploadSdist(t testing.TB, name, version string, extra ...string) []byte {
	t.Helper()
	s := makeSdist(t, name, version, metadataFor(name, version, extra...))
	if r := e.post(t, e.token, twineForm(kindSdist, name, version, s), name+"-"+version+".tar.gz", s); r.StatusCode != 200 {
		t.Fatalf("uploading the sdist of %s %s: %s %s", name, version, r.Status, r.body)
	}
	return s
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
