package npm

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

var ctx = context.Background()

// env is a Trove stack serving the npm adapter under /npm.
type env struct {
	*servertest.Env
	t    testing.TB
	reg  string // the registry root, BASE/npm
	h    *Handler
	opts Options
	// serverHandler is the whole server, for in-process requests.
	serverHandler http.Handler
	// ahead is how far the clocks of a proxying env run ahead (proxy_test.go).
	ahead *atomic.Int64
}

// newEnv starts a stack; mod may change the adapter's options.
func newEnv(t testing.TB, mod func(*Options)) *env {
	t.Helper()
	return newEnvWith(t, servertest.Options{}, mod)
}

// newEnvWith starts a stack with the options so (its rules are npm's).
func newEnvWith(t testing.TB, so servertest.Options, mod func(*Options)) *env {
	t.Helper()
	so.Rules = []registry.Rules{Rules{}}
	e := &env{Env: servertest.New(t, so), t: t}
	ts := e.Start(t, func(base string) []server.Mount {
		e.opts = Options{Registry: e.Registry, Pages: e.Pages, Tokens: e.Tokens, Users: e.Users, Logins: e.Logins,
			BaseURL: base + "/npm", MaxPublishBytes: 4 << 20}
		if mod != nil {
			mod(&e.opts)
		}
		e.h = New(e.opts)
		return []server.Mount{{Prefix: "/npm", Ecosystem: "npm", Adapter: e.h}}
	})
	e.reg = e.URL + "/npm"
	e.serverHandler = ts.Config.Handler
	return e
}

// userToken creates a user and a token for every package and action.
func (e *env) userToken(name string, patterns ...string) string {
	e.t.Helper()
	u := e.User(e.t, name, false)
	return e.Token(e.t, u, patterns)
}

// A response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return string(r.body) }

// errorText returns the "error" of an npm JSON error body.
func (r response) errorText() string {
	var b struct{ Error string }
	json.Unmarshal(r.body, &b)
	return b.Error
}

// do sends a request; body may be nil, []byte, string or a value to encode.
func do(t testing.TB, method, url, token string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	r := servertest.Do(t, req)
	return response{status: r.StatusCode, header: r.Header, body: []byte(r.Text)}
}

// want fails the test unless the response has the status.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

// json decodes the body.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// The archive builders of every package's tests.
type tarEntry = archivetest.TarEntry

var (
	makeTar   = archivetest.Tar
	gzipBytes = archivetest.Gzip
	makeTgz   = archivetest.TarGz
)

// pkgTgz builds a package tarball from package.json and other files
// (paths below package/).
func pkgTgz(t testing.TB, pkgJSON string, files ...string) []byte {
	t.Helper()
	entries := []tarEntry{{Name: "package/package.json", Body: pkgJSON}}
	for i := 0; i+1 < len(files); i += 2 {
		entries = append(entries, tarEntry{Name: "package/" + files[i], Body: files[i+1]})
	}
	return makeTgz(t, entries...)
}

// pkgJSONOf returns a package.json for name and version with extra fields.
func pkgJSONOf(name, version string, extra map[string]any) string {
	m := map[string]any{"name": name, "version": version, "description": "the " + name + " package"}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// integrity returns npm's sha512 integrity and sha1 shasum of b.
func integrity(b []byte) (string, string) {
	s512 := sha512.Sum512(b)
	s1 := sha1.Sum(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), hex.EncodeToString(s1[:])
}

// publishDoc builds the body npm 11 sends to publish tgz, whose
// package.json is manifest.
func publishDoc(t testing.TB, reg, manifest string, tgz []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(manifest), &m); err != nil {
		t.Fatal(err)
	}
	name, version := m["name"].(string), m["version"].(string)
	sri, shasum := integrity(tgz)
	m["_id"] = name + "@" + version
	m["_nodeVersion"], m["_npmVersion"] = "20.20.2", "11.19.1"
	m["dist"] = map[string]any{"integrity": sri, "shasum": shasum, "tarball": reg + "/" + name + "/-/" + name + "-" + version + ".tgz"}
	return map[string]any{
		"_id":         name,
		"name":        name,
		"description": m["description"],
		"dist-tags":   map[string]any{"latest": version},
		"versions":    map[string]any{version: m},
		"access":      nil,
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream",
			"data":         base64.StdEncoding.EncodeToString(tgz),
			"length":       len(tgz),
		}},
	}
}

// versionOf returns the version manifest inside a publish document.
func versionOf(doc map[string]any) map[string]any {
	for _, v := range doc["versions"].(map[string]any) {
		return v.(map[string]any)
	}
	return nil
}

// publish publishes a package made of package.json and files, and
// returns the tarball.
func (e *env) publish(token, pkgJSON string, files ...string) []byte {
	e.t.Helper()
	tgz := pkgTgz(e.t, pkgJSON, files...)
	doc := publishDoc(e.t, e.reg, pkgJSON, tgz)
	do(e.t, "PUT", e.reg+"/"+escapeName(trove.Name(doc["name"].(string))), token, doc).want(e.t, http.StatusOK)
	return tgz
}

// packument fetches a full packument.
func (e *env) packument(name string) map[string]any {
	e.t.Helper()
	return do(e.t, "GET", e.reg+"/"+escapeName(trove.Name(name)), "", nil, "Accept", "application/json").want(e.t, http.StatusOK).json(e.t)
}

// releases returns the release rows of a package, in every state.
func (e *env) releases(name string) []*trove.Release {
	e.t.Helper()
	p, err := e.DB.Package(ctx, "npm", trove.Name(name))
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	rels, err := e.DB.Releases(ctx, p.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return rels
}

// get returns a nested value of decoded JSON by keys.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// localPath reports whether a relative path stays inside its root once
// cleaned.
func localPath(p string) bool {
	p = path.Clean(p)
	return p != ".." && !strings.HasPrefix(p, "../") && !strings.HasPrefix(p, "/")
}
