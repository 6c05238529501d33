package pypi

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/trove-dev/trove/internal/trove"
)

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   format
	}{
		{"", fmtHTML},
		{"*/*", fmtHTML},
		{"text/html", fmtHTML},
		{"text/*", fmtHTML},
		{"application/json", fmtHTML}, // nothing acceptable: the default
		{"image/png", fmtHTML},
		{"garbage", fmtHTML},
		// pip 22.2 and later.
		{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", fmtV1JSON},
		{"application/vnd.pypi.simple.v1+json", fmtV1JSON},
		{"application/vnd.pypi.simple.latest+json", fmtV1JSON},
		{"APPLICATION/VND.PYPI.SIMPLE.V1+JSON", fmtV1JSON},
		{"application/vnd.pypi.simple.v1+html", fmtV1HTML},
		{"application/vnd.pypi.simple.latest+html", fmtV1HTML},
		{"application/*", fmtV1HTML},
		{"text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.6", fmtV1JSON},
		{"text/html;q=0.7, application/vnd.pypi.simple.v1+json;q=0.6", fmtHTML},
		{"application/vnd.pypi.simple.v1+json;q=0, */*", fmtHTML},
		{"application/vnd.pypi.simple.v1+json;q=0", fmtHTML},
		{"*/*;q=0.1, application/vnd.pypi.simple.v1+json", fmtV1JSON},
		{"application/vnd.pypi.simple.v1+json;q=bad, text/html;q=0.1", fmtHTML},
	} {
		if got := negotiate(tc.accept); got != tc.want {
			t.Errorf("negotiate(%q) = %s, want %s", tc.accept, formats[got].contentType, formats[tc.want].contentType)
		}
	}
}

func TestSimpleNegotiationOverHTTP(t *testing.T) {
	e := newTestEnv(t)
	e.uploadWheel(t, "demo", "1.0")
	for _, accept := range []string{"", "text/html", "application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.latest+json",
		"application/vnd.pypi.simple.v1+html", "application/json"} {
		for _, path := range []string{"/simple/", "/simple/demo/"} {
			r := e.get(t, path, "Accept", accept)
			want := formats[negotiate(accept)].contentType
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != want || r.Header.Get("Vary") != "Accept, Accept-Encoding" {
				t.Errorf("GET %s Accept %q: %s, Content-Type %q, Vary %q; want %s varying by Accept",
					path, accept, r.Status, r.Header.Get("Content-Type"), r.Header.Get("Vary"), want)
			}
			if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("GET %s: Content-Type application/json, which pip refuses", path)
			}
		}
	}
}

// TestSimpleHTML checks the project page byte for byte: PEP 503 links
// with hashes, PEP 592 yanks with an explicit value, PEP 658/714
// metadata attributes for wheels only and escaped requires-python.
func TestSimpleHTML(t *testing.T) {
	e := newTestEnv(t)
	w1 := e.uploadWheel(t, "Demo_Pkg", "1.0", "Requires-Python: >=3.8, <4")
	s1 := e.uploadSdist(t, "Demo_Pkg", "1.0", "Requires-Python: >=3.8, <4")
	w10 := e.uploadWheel(t, "Demo_Pkg", "1.10")
	w9 := e.uploadWheel(t, "Demo_Pkg", "1.9")
	if err := e.Registry.Yank(context.Background(), principal(e.alice), trove.Target{Ecosystem: trove.PyPI, Name: "demo-pkg", Version: "1.9"},
		`broken <"build">`); err != nil {
		t.Fatal(err)
	}
	if err := e.Registry.Yank(context.Background(), principal(e.alice), trove.Target{Ecosystem: trove.PyPI, Name: "demo-pkg", Version: "1.10"}, ""); err != nil {
		t.Fatal(err)
	}
	md := func(name, version string, extra ...string) string {
		return sha([]byte(metadataFor(name, version, extra...)))
	}
	u := e.url + "/packages/"
	p, _ := e.Registry.Project(context.Background(), trove.PyPI, "demo-pkg")
	want := `<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <title>Links for demo-pkg</title>
  </head>
  <body>
    <h1>Links for demo-pkg</h1>
    <a href="` + u + sha(s1) + `/Demo_Pkg-1.0.tar.gz#sha256=` + sha(s1) + `" data-requires-python="&gt;=3.8, &lt;4">Demo_Pkg-1.0.tar.gz</a><br />
    <a href="` + u + sha(w1) + `/demo_pkg-1.0-py3-none-any.whl#sha256=` + sha(w1) + `" data-requires-python="&gt;=3.8, &lt;4" data-dist-info-metadata="sha256=` + md("Demo_Pkg", "1.0", "Requires-Python: >=3.8, <4") + `" data-core-metadata="sha256=` + md("Demo_Pkg", "1.0", "Requires-Python: >=3.8, <4") + `">demo_pkg-1.0-py3-none-any.whl</a><br />
    <a href="` + u + sha(w9) + `/demo_pkg-1.9-py3-none-any.whl#sha256=` + sha(w9) + `" data-yanked="broken &lt;&#34;build&#34;&gt;" data-dist-info-metadata="sha256=` + md("Demo_Pkg", "1.9") + `" data-core-metadata="sha256=` + md("Demo_Pkg", "1.9") + `">demo_pkg-1.9-py3-none-any.whl</a><br />
    <a href="` + u + sha(w10) + `/demo_pkg-1.10-py3-none-any.whl#sha256=` + sha(w10) + `" data-yanked="" data-dist-info-metadata="sha256=` + md("Demo_Pkg", "1.10") + `" data-core-metadata="sha256=` + md("Demo_Pkg", "1.10") + `">demo_pkg-1.10-py3-none-any.whl</a><br />
  </body>
</html>
<!--SERIAL ` + itoa(p.Package.LastSerial) + `-->
`
	r := e.get(t, "/simple/demo-pkg/")
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("project page mismatch (-want +got):\n%s", diff)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type simpleFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python"`
	Size           int64             `json:"size"`
	UploadTime     string            `json:"upload-time"`
	Yanked         any               `json:"yanked"`
	CoreMetadata   any               `json:"core-metadata"`
}

func TestSimpleJSON(t *testing.T) {
	e := newTestEnv(t)
	w := e.uploadWheel(t, "demo", "2.0rc1", "Requires-Python: >=3.9")
	s := e.uploadSdist(t, "demo", "1.0")
	e.uploadWheel(t, "demo", "1.0.post1")
	if err := e.Registry.Yank(context.Background(), principal(e.alice), trove.Target{Ecosystem: trove.PyPI, Name: "demo", Version: "1.0.post1"}, "oops"); err != nil {
		t.Fatal(err)
	}
	r := e.get(t, "/simple/demo/", "Accept", "application/vnd.pypi.simple.v1+json")
	if r.Header.Get("Content-Type") != "application/vnd.pypi.simple.v1+json" {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	if strings.Contains(r.body, "dist-info-metadata") {
		t.Errorf("JSON has the key dist-info-metadata, which crashes pip 22.3 to 23.1:\n%s", r.body)
	}
	var doc struct {
		Meta     map[string]any `json:"meta"`
		Name     string         `json:"name"`
		Versions []string       `json:"versions"`
		Files    []simpleFile   `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Meta["api-version"] != "1.1" || doc.Name != "demo" || !cmp.Equal(doc.Versions, []string{"1.0", "1.0.post1", "2.0rc1"}) {
		t.Errorf("meta %v, name %q, versions %q", doc.Meta, doc.Name, doc.Versions)
	}
	timeRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	for _, f := range doc.Files {
		if !timeRE.MatchString(f.UploadTime) {
			t.Errorf("%s: upload-time %q not in PEP 700 format", f.Filename, f.UploadTime)
		}
		if f.URL != e.url+"/packages/"+f.Hashes["sha256"]+"/"+f.Filename {
			t.Errorf("%s: url %q", f.Filename, f.URL)
		}
	}
	md := sha([]byte(metadataFor("demo", "2.0rc1", "Requires-Python: >=3.9")))
	want := []simpleFile{
		{Filename: "demo-1.0.tar.gz", Hashes: map[string]string{"sha256": sha(s)}, Size: int64(len(s)), Yanked: false, CoreMetadata: false},
		{Filename: "demo-1.0.post1-py3-none-any.whl", Yanked: "oops"},
		{Filename: "demo-2.0rc1-py3-none-any.whl", Hashes: map[string]string{"sha256": sha(w)}, RequiresPython: ">=3.9", Size: int64(len(w)),
			Yanked: false, CoreMetadata: map[string]any{"sha256": md}},
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		f := p.Last().String()
		return f == ".URL" || f == ".UploadTime"
	}, cmp.Ignore())
	got := doc.Files
	got[1] = simpleFile{Filename: got[1].Filename, Yanked: got[1].Yanked} // only its yank matters here
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
}

func TestSimpleIndex(t *testing.T) {
	e := newTestEnv(t)
	if r := e.get(t, "/simple/"); r.StatusCode != 200 || strings.Contains(r.body, "<a ") {
		t.Errorf("empty index: %s\n%s", r.Status, r.body)
	}
	e.uploadWheel(t, "Zeta", "1.0")
	e.uploadWheel(t, "alpha.beta", "1.0")
	r := e.get(t, "/simple/")
	if !strings.Contains(r.body, `<a href="`+e.url+`/simple/alpha-beta/">alpha.beta</a><br />
    <a href="`+e.url+`/simple/zeta/">Zeta</a><br />`) {
		t.Errorf("index page (the new projects must show at once):\n%s", r.body)
	}
	r = e.get(t, "/simple/", "Accept", "application/vnd.pypi.simple.v1+json")
	if r.body != `{"meta":{"api-version":"1.1"},"projects":[{"name":"alpha.beta"},{"name":"Zeta"}]}`+"\n" {
		t.Errorf("index JSON: %s", r.body)
	}
}

func TestSimpleRedirects(t *testing.T) {
	e := newTestEnv(t)
	e.uploadWheel(t, "foo-bar", "1.0")
	for path, want := range map[string]string{
		"/simple":           "/simple/",
		"/simple/foo-bar":   "/simple/foo-bar/",
		"/simple/Foo_Bar/":  "/simple/foo-bar/",
		"/simple/FOO.bar":   "/simple/foo-bar/",
		"/simple/foo--bar/": "/simple/foo-bar/",
	} {
		r := e.get(t, path)
		if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != e.url+want {
			t.Errorf("GET %s: %s Location %q; want 301 to %s", path, r.Status, r.Header.Get("Location"), e.url+want)
		}
	}
	if r := e.get(t, "/simple/nope/"); r.StatusCode != 404 || !strings.Contains(r.body, "package nope not found") {
		t.Errorf("unknown project: %s %q", r.Status, r.body)
	}
	if r := e.get(t, "/simple/bad name/"); r.StatusCode != 404 || !strings.Contains(r.body, "is not valid") {
		t.Errorf("invalid project name: %s %q", r.Status, r.body)
	}
}

func TestSimpleCaching(t *testing.T) {
	e := newTestEnv(t)
	e.uploadWheel(t, "demo", "1.0")
	first := e.get(t, "/simple/demo/")
	etag := first.Header.Get("ETag")
	if etag == "" || first.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, first.Header.Get("Cache-Control"))
	}
	if r := e.get(t, "/simple/demo/", "If-None-Match", etag); r.StatusCode != http.StatusNotModified || r.body != "" {
		t.Errorf("If-None-Match: %s %q, want 304", r.Status, r.body)
	}
	// The JSON variant has its own ETag.
	if r := e.get(t, "/simple/demo/", "Accept", "application/vnd.pypi.simple.v1+json", "If-None-Match", etag); r.StatusCode != 200 {
		t.Errorf("JSON with the HTML ETag: %s, want 200", r.Status)
	}
	// Pages large enough are served pre-compressed.
	for v := 1; v <= 6; v++ {
		e.uploadSdist(t, "demo", "1."+itoa(int64(v)))
	}
	req, _ := http.NewRequest("GET", e.url+"/simple/demo/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	plain := e.get(t, "/simple/demo/")
	if string(b) != plain.body || !strings.Contains(plain.body, "demo-1.6.tar.gz") {
		t.Errorf("gzip body differs from the plain one, or misses the new upload")
	}
	if plain.Header.Get("ETag") == etag {
		t.Errorf("ETag unchanged after new uploads")
	}
	if r := e.get(t, "/simple/demo/", "If-None-Match", etag); r.StatusCode != 200 {
		t.Errorf("stale If-None-Match: %s, want 200", r.Status)
	}
}

// TestCachedReadsNeedNoDatabase warms the cache, closes the database and
// reads again: cached pages are served without SQL. The same request for
// a page not cached then fails, which shows the check can fail.
func TestCachedReadsNeedNoDatabase(t *testing.T) {
	e := newTestEnv(t)
	w := e.uploadWheel(t, "demo", "1.0")
	type get struct{ path, accept string }
	warm := []get{
		{"/simple/", ""}, {"/simple/demo/", ""}, {"/simple/demo/", "application/vnd.pypi.simple.v1+json"},
		{"/pypi/demo/json", ""}, {"/pypi/demo/1.0/json", ""}, {"/packages/" + sha(w) + "/" + wheelFilename("demo", "1.0"), ""},
	}
	for _, g := range warm {
		if r := e.get(t, g.path, "Accept", g.accept); r.StatusCode != 200 {
			t.Fatalf("warming %s: %s", g.path, r.Status)
		}
	}
	e.DB.Close()
	for _, g := range warm {
		if r := e.get(t, g.path, "Accept", g.accept); r.StatusCode != 200 {
			t.Errorf("cached %s %q with the database closed: %s %s", g.path, g.accept, r.Status, r.body)
		}
	}
	if r := e.get(t, "/simple/demo/", "Accept", "application/vnd.pypi.simple.v1+html"); r.StatusCode != 500 {
		t.Errorf("uncached page with the database closed: %s, want 500", r.Status)
	}
}

func BenchmarkSimplePageCached(b *testing.B) {
	e := newTestEnv(b)
	for v := range 20 {
		e.uploadWheel(b, "demo", "1."+itoa(int64(v)))
	}
	req, _ := http.NewRequest("GET", e.url+"/simple/demo/", nil)
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")
	client := &http.Client{}
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}
