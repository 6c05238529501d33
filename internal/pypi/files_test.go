package pypi

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

func TestDownload(t *testing.T) {
	e := newTestEnv(t)
	w := e.uploadWheel(t, "demo", "1.0")
	fn := wheelFilename("demo", "1.0")
	path := "/packages/" + sha(w) + "/" + fn
	r := e.get(t, path)
	if r.StatusCode != 200 || r.body != string(w) {
		t.Fatalf("GET %s: %s, %d bytes", path, r.Status, len(r.body))
	}
	for k, want := range map[string]string{
		"Content-Type":   "application/octet-stream",
		"ETag":           `"` + sha(w) + `"`,
		"Cache-Control":  "public, max-age=31536000, immutable",
		"Content-Length": itoa(int64(len(w))),
		"Accept-Ranges":  "bytes",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if r := e.get(t, path, "Range", "bytes=10-19"); r.StatusCode != http.StatusPartialContent || r.body != string(w[10:20]) {
		t.Errorf("Range: %s %q", r.Status, r.body)
	}
	if r := e.get(t, path, "If-None-Match", `"`+sha(w)+`"`); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %s, want 304", r.Status)
	}
	req, _ := http.NewRequest("HEAD", e.url+path, nil)
	if r := do(t, req); r.StatusCode != 200 || r.body != "" || r.Header.Get("Content-Length") != itoa(int64(len(w))) {
		t.Errorf("HEAD: %s, body %d bytes, Content-Length %q", r.Status, len(r.body), r.Header.Get("Content-Length"))
	}
	for _, bad := range []string{
		"/packages/" + sha([]byte("other")) + "/" + fn,                        // digest of other bytes
		"/packages/" + sha(w) + "/demo-1.0-py2-none-any.whl",                  // no such file
		"/packages/" + sha(w) + "/other-1.0-py3-none-any.whl",                 // no such project
		"/packages/" + sha(w) + "/demo-1.0.tar.gz",                            // another filename
		"/packages/" + strings.ToUpper(sha(w)) + "/" + fn,                     // not the canonical digest
		"/packages/" + sha(w) + "/" + fn + ".asc",                             // not a distribution
		"/packages/" + sha(w) + "/" + strings.TrimSuffix(fn, ".whl") + ".zip", // not this file
	} {
		if r := e.get(t, bad); r.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", bad, r.Status)
		}
	}
}

// TestDownloadAmbiguousSdist serves sdists whose filename two projects
// share: "foo-1-1.tar.gz" is foo 1.post1 and foo-1 1.
func TestDownloadAmbiguousSdist(t *testing.T) {
	e := newTestEnv(t)
	a := makeSdist(t, "foo", "1-1", metadataFor("foo", "1.post1"))
	if r := e.post(t, e.token, twineForm(kindSdist, "foo", "1.post1", a), "foo-1-1.tar.gz", a); r.StatusCode != 200 {
		t.Fatalf("upload foo: %s %s", r.Status, r.body)
	}
	b := makeSdist(t, "foo-1", "1", metadataFor("foo-1", "1"))
	if r := e.post(t, e.token, twineForm(kindSdist, "foo-1", "1", b), "foo-1-1.tar.gz", b); r.StatusCode != 200 {
		t.Fatalf("upload foo-1: %s %s", r.Status, r.body)
	}
	for _, c := range [][]byte{a, b} {
		if r := e.get(t, "/packages/"+sha(c)+"/foo-1-1.tar.gz"); r.StatusCode != 200 || r.body != string(c) {
			t.Errorf("GET foo-1-1.tar.gz with sha256 %s: %s", sha(c), r.Status)
		}
	}
}

func TestCoreMetadataFile(t *testing.T) {
	e := newTestEnv(t)
	// Metadata bytes as a tool might write them: CRLF, trailing spaces,
	// no final newline. They must come back exactly.
	md := "Metadata-Version: 2.1\r\nName: demo\r\nVersion: 1.0 \r\nRequires-Dist: requests\r\n\r\nbody"
	w := makeWheel(t, "demo", "1.0", md)
	fn := wheelFilename("demo", "1.0")
	if r := e.post(t, e.token, twineForm(kindWheel, "demo", "1.0", w), fn, w); r.StatusCode != 200 {
		t.Fatalf("upload: %s %s", r.Status, r.body)
	}
	s := e.uploadSdist(t, "demo", "1.0")
	page := e.get(t, "/simple/demo/")
	if !strings.Contains(page.body, `data-core-metadata="sha256=`+sha([]byte(md))+`"`) {
		t.Fatalf("page does not advertise the metadata hash %s:\n%s", sha([]byte(md)), page.body)
	}
	r := e.get(t, "/packages/"+sha(w)+"/"+fn+".metadata")
	if r.StatusCode != 200 || r.body != md || sha([]byte(r.body)) != sha([]byte(md)) {
		t.Errorf("metadata: %s %q, want %q", r.Status, r.body, md)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" || r.Header.Get("ETag") != `"`+sha([]byte(md))+`"` {
		t.Errorf("metadata headers: Content-Type %q, ETag %q", ct, r.Header.Get("ETag"))
	}
	if r := e.get(t, "/packages/"+sha(s)+"/demo-1.0.tar.gz.metadata"); r.StatusCode != 404 || !strings.Contains(r.body, "only wheels") {
		t.Errorf("sdist metadata: %s %q, want 404", r.Status, r.body)
	}
	if r := e.get(t, "/packages/"+sha(s)+"/"+fn+".metadata"); r.StatusCode != 404 {
		t.Errorf("metadata under another file's digest: %s, want 404", r.Status)
	}
}

func TestDownloadYanked(t *testing.T) {
	e := newTestEnv(t)
	w := e.uploadWheel(t, "demo", "1.0")
	if err := e.Registry.Yank(context.Background(), principal(e.alice), trove.Target{Ecosystem: trove.PyPI, Name: "demo", Version: "1.0"}, "bad"); err != nil {
		t.Fatal(err)
	}
	if r := e.get(t, "/packages/"+sha(w)+"/"+wheelFilename("demo", "1.0")); r.StatusCode != 200 || r.body != string(w) {
		t.Errorf("yanked file: %s, want it served (PEP 592)", r.Status)
	}
}

func BenchmarkFileDownload(b *testing.B) {
	e := newTestEnv(b)
	w := e.uploadWheel(b, "demo", "1.0", "Description-Content-Type: text/plain\nKeywords: "+strings.Repeat("k", 200<<10))
	url := e.url + "/packages/" + sha(w) + "/" + wheelFilename("demo", "1.0")
	client := &http.Client{}
	b.SetBytes(int64(len(w)))
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Get(url)
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
