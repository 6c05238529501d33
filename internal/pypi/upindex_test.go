package pypi

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestParseUpIndexJSON(t *testing.T) {
	body := `{"meta":{"api-version":"1.1","_last-serial":7},"name":"holy-grail","versions":["1.0","2.0"],
	 "files":[
	  {"filename":"holy_grail-1.0-py3-none-any.whl","url":"../../files/ab/holy_grail-1.0-py3-none-any.whl",
	   "hashes":{"sha256":"` + strings.ToUpper(hexA) + `","md5":"x"},"requires-python":">=3.8","size":1234,
	   "upload-time":"2024-05-01T12:00:00.123456Z","yanked":"broken","core-metadata":{"sha256":"` + hexB + `"}},
	  {"filename":"holy-grail-2.0.tar.gz","url":"https://files.test/h/holy-grail-2.0.tar.gz#sha256=ignored",
	   "hashes":{},"yanked":true,"dist-info-metadata":true},
	  {"filename":"other-1.0.tar.gz","url":"https://files.test/other-1.0.tar.gz","hashes":{"sha256":"` + hexA + `"}},
	  {"filename":"holy_grail-3.0-py3-none-any.whl","url":"file:///etc/passwd","hashes":{"sha256":"` + hexA + `"}},
	  {"filename":"holy_grail-4.0-py3-none-any.whl","url":"https://files.test/elsewhere.whl","hashes":{"sha256":"` + hexA + `"}}
	 ]}`
	idx, err := parseUpIndex("holy-grail", []byte(body), "https://idx.test/simple/holy-grail/")
	if err != nil {
		t.Fatal(err)
	}
	want := &upIndex{Versions: []string{"1.0", "2.0"}, Files: []upFile{
		{Filename: "holy_grail-1.0-py3-none-any.whl", URL: "https://idx.test/files/ab/holy_grail-1.0-py3-none-any.whl",
			SHA256: hexA, RequiresPython: ">=3.8", Size: 1234, UploadTime: time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC),
			Yanked: true, YankedReason: "broken", MetadataSHA256: hexB, Version: "1.0"},
		{Filename: "holy-grail-2.0.tar.gz", URL: "https://files.test/h/holy-grail-2.0.tar.gz", Size: -1, Yanked: true, Version: "2.0"},
	}}
	if diff := cmp.Diff(want, idx, cmp.AllowUnexported(upIndex{})); diff != "" {
		t.Errorf("parseUpIndex (-want +got):\n%s", diff)
	}
}

func TestParseUpIndexHTML(t *testing.T) {
	body := `<!DOCTYPE html><html><head><base href="https://mirror.test/base/"><title>Links</title></head><body>
<a href="holy_grail-1.0-py3-none-any.whl#sha256=` + hexA + `" data-requires-python="&gt;=3.8" data-yanked="" data-dist-info-metadata="sha256=` + hexB + `">holy_grail-1.0-py3-none-any.whl</a><br/>
<A HREF="/abs/holy-grail-2.0.tar.gz#md5=0123" data-core-metadata="true">holy-grail-2.0.tar.gz</A>
<a>no href</a><a href="javascript:alert(1)">x</a>
<a href="holy-grail-3.0.zip#sha256=nothex" data-yanked="gone &amp; bad">holy-grail-3.0.zip</a>
<a href="other-1.0.tar.gz#sha256=` + hexA + `">other</a>
</body></html>`
	idx, err := parseUpIndex("holy-grail", []byte(body), "https://idx.test/simple/holy-grail/")
	if err != nil {
		t.Fatal(err)
	}
	want := &upIndex{Files: []upFile{
		{Filename: "holy_grail-1.0-py3-none-any.whl", URL: "https://mirror.test/base/holy_grail-1.0-py3-none-any.whl",
			SHA256: hexA, RequiresPython: ">=3.8", Size: -1, Yanked: true, MetadataSHA256: hexB, Version: "1.0"},
		{Filename: "holy-grail-2.0.tar.gz", URL: "https://mirror.test/abs/holy-grail-2.0.tar.gz", Size: -1, Version: "2.0"},
		{Filename: "holy-grail-3.0.zip", URL: "https://mirror.test/base/holy-grail-3.0.zip", Size: -1, Yanked: true,
			YankedReason: "gone & bad", Version: "3.0"},
	}}
	if diff := cmp.Diff(want, idx, cmp.AllowUnexported(upIndex{})); diff != "" {
		t.Errorf("parseUpIndex (-want +got):\n%s", diff)
	}
}

func TestParseUpIndexErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, wantErr string }{
		{"bad json", `{"meta":`, "not valid PEP 691 JSON"},
		{"api version 2", `{"meta":{"api-version":"2.0"},"files":[]}`, `api-version "2.0"`},
		{"no api version", `{"files":[]}`, `api-version ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseUpIndex("p", []byte(tc.body), "https://idx.test/simple/p/")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseUpIndex(%q) = %v, want an error containing %q", tc.body, err, tc.wantErr)
			}
		})
	}
}

// TestRenderListingRoundTrip checks that what Trove renders for a proxied
// project, both ways, is read back the same by the upstream parser: the
// pages Trove serves are pages a downstream Trove can proxy.
func TestRenderListingRoundTrip(t *testing.T) {
	files := []listing{
		{Filename: "p-1.0.tar.gz", URL: "https://trove.test/pypi/packages/" + hexA + "/p-1.0.tar.gz", SHA256: hexA,
			RequiresPython: ">=3.8,<4", Size: 10, UploadTime: time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)},
		{Filename: "p-2.0-py3-none-any.whl", URL: "https://trove.test/pypi/packages/" + hexB + "/p-2.0-py3-none-any.whl", SHA256: hexB,
			Size: -1, Yanked: true, YankedReason: `"quoted" <reason>`, MetadataSHA256: hexA},
	}
	for _, f := range []format{fmtHTML, fmtV1JSON} {
		pg := renderListing("p", []string{"1.0", "2.0"}, files, -1, f)
		body, err := pg.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), "SERIAL") || strings.Contains(string(body), "_last-serial") {
			t.Errorf("format %d: a proxied page shows a serial:\n%s", f, body)
		}
		idx, err := parseUpIndex("p", body, "https://trove.test/pypi/simple/p/")
		if err != nil {
			t.Fatal(err)
		}
		var got []listing
		for _, u := range idx.Files {
			got = append(got, listing{Filename: u.Filename, URL: u.URL, SHA256: u.SHA256, RequiresPython: u.RequiresPython,
				Size: u.Size, UploadTime: u.UploadTime, Yanked: u.Yanked, YankedReason: u.YankedReason, MetadataSHA256: u.MetadataSHA256})
		}
		want := files
		if f == fmtHTML { // HTML carries no size or upload time
			want = []listing{files[0], files[1]}
			want[0].Size, want[0].UploadTime = -1, time.Time{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("format %d: round trip (-want +got):\n%s", f, diff)
		}
	}
}

func FuzzParseUpIndex(f *testing.F) {
	f.Add([]byte(`{"meta":{"api-version":"1.0"},"files":[{"filename":"p-1.0.tar.gz","url":"p-1.0.tar.gz","hashes":{"sha256":"` + hexA + `"}}]}`))
	f.Add([]byte(`<a href="p-1.0.tar.gz#sha256=` + hexA + `" data-yanked="">p-1.0.tar.gz</a><base href="//x/">`))
	f.Fuzz(func(t *testing.T, body []byte) {
		idx, err := parseUpIndex("p", body, "https://idx.test/simple/p/")
		if err != nil {
			return
		}
		for _, u := range idx.Files {
			if u.Version == "" || fileVersion(u.Filename, "p") != u.Version {
				t.Fatalf("file %q kept with version %q", u.Filename, u.Version)
			}
			if u.SHA256 != "" && hexDigest(u.SHA256) != u.SHA256 {
				t.Fatalf("file %q has sha256 %q", u.Filename, u.SHA256)
			}
			if !strings.HasPrefix(u.URL, "http://") && !strings.HasPrefix(u.URL, "https://") || strings.Contains(u.URL, "#") {
				t.Fatalf("file %q has URL %q", u.Filename, u.URL)
			}
		}
	})
}
