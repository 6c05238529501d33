package goproxy

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// logName is the test log's origin, shaped like a real one (host:port/path).
const logName = "127.0.0.1:8080/log"

// testEnv is a Trove serving Go modules over SQLite and memblob, with a
// transparency log for the checksum database.
type testEnv struct {
	*servertest.Env
	h     *Handler
	url   string // the Go root
	log   *translog.Log
	vkey  string
	alice *trove.User
	token string // alice's, for every package and action
}

func newTestEnv(t testing.TB, opts ...func(*Options)) *testEnv {
	t.Helper()
	return newTestEnvWith(t, servertest.Options{}, opts...)
}

// newTestEnvWith is newTestEnv on a stack with the options so.
func newTestEnvWith(t testing.TB, so servertest.Options, opts ...func(*Options)) *testEnv {
	t.Helper()
	return newTestEnvNamed(t, logName, so, opts...)
}

// newTestEnvNamed is newTestEnvWith with a log (and checksum database)
// of the given name.
func newTestEnvNamed(t testing.TB, logName string, so servertest.Options, opts ...func(*Options)) *testEnv {
	t.Helper()
	so.Rules = []registry.Rules{Rules{}}
	env := servertest.New(t, so)
	e := &testEnv{Env: env}
	dir := t.TempDir()
	signer, vkey, err := translog.LoadOrCreateKey(dir, logName)
	if err != nil {
		t.Fatal(err)
	}
	e.vkey = vkey
	e.log, err = translog.Open(context.Background(), env.DB, signer, vkey, filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	env.Start(t, func(base string) []server.Mount {
		o := Options{Registry: env.Registry, Pages: env.Pages, Log: e.log, LogStore: env.DB, MaxZipBytes: 1 << 20}
		for _, f := range opts {
			f(&o)
		}
		e.h = New(o)
		return []server.Mount{{Prefix: "/go", Ecosystem: "go", Adapter: e.h}}
	})
	e.url = env.URL + "/go"
	e.alice = env.User(t, "alice", false)
	e.token = env.Token(t, e.alice, nil)
	return e
}

// sign signs the log's tree, which the registry's Log would do after
// every change (servertest's registry has none).
func (e *testEnv) sign(t testing.TB) {
	t.Helper()
	if _, err := e.log.Sign(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// principal, moduleZip and do are the shared test helpers.
var (
	principal = servertest.Principal
	moduleZip = archivetest.ModuleZip
)

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

// multipartBody encodes the form's parts.
func multipartBody(t testing.TB, parts []part) (*bytes.Buffer, string) {
	var ps []servertest.Part
	for _, p := range parts {
		sp := servertest.Part{Name: p.name, Data: p.data}
		if p.file {
			sp.Filename = p.name
		}
		ps = append(ps, sp)
	}
	return servertest.Multipart(t, ps...)
}

// goMod returns a go.mod declaring mod.
func goMod(mod string) []byte { return []byte("module " + mod + "\n\ngo 1.22\n") }

// rawZip returns a zip of the entries (name, content pairs) as given,
// with no checks.
func rawZip(t testing.TB, entries ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i+1 < len(entries); i += 2 {
		w, err := zw.Create(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, entries[i+1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A part is a part of an upload form: a field, or a file if file is set.
type part struct {
	name string
	data []byte
	file bool
}

// uploadForm returns the parts of a standard upload.
func uploadForm(mod, version string, gomod, zipData []byte) []part {
	return []part{{"module", []byte(mod), false}, {"version", []byte(version), false},
		{"mod", gomod, true}, {"zip", zipData, true}}
}

// get fetches a URL below the Go root.
func (e *testEnv) get(t testing.TB, p string) response {
	t.Helper()
	req, err := http.NewRequest("GET", e.url+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// post uploads a form with a token ("" for none).
func (e *testEnv) post(t testing.TB, token string, parts []part) response {
	t.Helper()
	body, ct := multipartBody(t, parts)
	return e.postRaw(t, token, body, ct)
}

func (e *testEnv) postRaw(t testing.TB, token string, body io.Reader, contentType string) response {
	t.Helper()
	req := servertest.Request(t, "POST", e.url+"/-/upload", body, "Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// publish uploads a module version with one package file and fails the
// test unless it is accepted. It returns the zip and go.mod.
func (e *testEnv) publish(t testing.TB, mod, version string) (zipData, gomod []byte) {
	t.Helper()
	gomod = goMod(mod)
	zipData = moduleZip(t, mod, version, map[string]string{
		"go.mod": string(gomod),
		"lib.go": "package lib\n\nconst Version = \"" + version + "\"\n",
	})
	if r := e.post(t, e.token, uploadForm(mod, version, gomod, zipData)); r.StatusCode != http.StatusCreated {
		t.Fatalf("publishing %s@%s: %s %s", mod, version, r.Status, r.body)
	}
	e.sign(t)
	return zipData, gomod
}
