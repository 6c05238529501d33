package pypi

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/trove"
)

func TestUploadWheelAndSdist(t *testing.T) {
	e := newTestEnv(t)
	whl := e.uploadWheel(t, "Demo.Pkg", "1.0.0", "Requires-Python: >=3.8", "Requires-Dist: requests>=2")
	sd := e.uploadSdist(t, "Demo.Pkg", "1.0.0", "Requires-Python: >=3.8")

	p, err := e.Registry.Project(context.Background(), trove.PyPI, "demo-pkg")
	if err != nil {
		t.Fatal(err)
	}
	if p.Package.DisplayName != "Demo.Pkg" || len(p.Releases) != 1 || len(p.Files) != 2 {
		t.Fatalf("project = %+v with %d releases and %d files; want Demo.Pkg with 1 release and 2 files", p.Package, len(p.Releases), len(p.Files))
	}
	for _, f := range p.Files {
		var a fileAttrs
		json.Unmarshal(f.Attrs, &a)
		switch f.Filename {
		case "demo_pkg-1.0.0-py3-none-any.whl":
			if f.SHA256 != sha(whl) || f.Kind != kindWheel || a != (fileAttrs{kindWheel, "py3", ">=3.8", "2.1"}) {
				t.Errorf("wheel stored as %+v, attrs %+v", f, a)
			}
			if f.MetadataSHA256 != sha([]byte(metadataFor("Demo.Pkg", "1.0.0", "Requires-Python: >=3.8", "Requires-Dist: requests>=2"))) {
				t.Errorf("wheel metadata sha256 = %s, not that of its METADATA", f.MetadataSHA256)
			}
		case "Demo.Pkg-1.0.0.tar.gz":
			if f.SHA256 != sha(sd) || f.Kind != kindSdist || f.MetadataSHA256 != "" || a != (fileAttrs{kindSdist, "source", ">=3.8", "2.1"}) {
				t.Errorf("sdist stored as %+v, attrs %+v", f, a)
			}
		default:
			t.Errorf("unexpected file %s", f.Filename)
		}
	}
	var rm releaseMetadata
	if err := json.Unmarshal(p.Releases[0].Metadata, &rm); err != nil {
		t.Fatal(err)
	}
	if rm.Name != "Demo.Pkg" || rm.Version != "1.0.0" || rm.Summary != "The Demo.Pkg project" || len(rm.RequiresDist) != 1 ||
		rm.Description != "# Demo.Pkg\n\nA test project.\n" {
		t.Errorf("release metadata = %+v", rm)
	}
}

// TestUploadMetadataFromArtifact checks that what Trove keeps and serves
// comes from the file, not from the form's metadata fields.
func TestUploadMetadataFromArtifact(t *testing.T) {
	e := newTestEnv(t)
	w := makeWheel(t, "demo", "1.0", metadataFor("demo", "1.0"))
	fields := set(twineForm(kindWheel, "demo", "1.0", w), "summary", "A summary only the form has")
	fields = set(fields, "requires_dist", "evil-dependency")
	fields = set(fields, "requires_python", ">=99")
	if r := e.post(t, e.token, fields, wheelFilename("demo", "1.0"), w); r.StatusCode != 200 {
		t.Fatalf("upload: %s %s", r.Status, r.body)
	}
	r := e.get(t, "/pypi/demo/json")
	if strings.Contains(r.body, "only the form") || strings.Contains(r.body, "evil-dependency") || strings.Contains(r.body, ">=99") ||
		!strings.Contains(r.body, `"summary":"The demo project"`) {
		t.Errorf("JSON API shows form fields instead of the file's metadata:\n%s", r.body)
	}
}

func TestUploadFieldOrder(t *testing.T) {
	e := newTestEnv(t)
	s := makeSdist(t, "demo", "1.0", metadataFor("demo", "1.0"))
	body, ct := multipartBody(t, twineForm(kindSdist, "demo", "1.0", s), "demo-1.0.tar.gz", s, true)
	if r := e.postRaw(t, e.token, body, ct); r.StatusCode != 200 {
		t.Fatalf("upload with the file before the fields: %s %s", r.Status, r.body)
	}
	if r := e.get(t, "/simple/demo/"); !strings.Contains(r.body, ">demo-1.0.tar.gz</a>") {
		t.Errorf("project page lacks the file:\n%s", r.body)
	}
}

func TestUploadDigests(t *testing.T) {
	e := newTestEnv(t)
	// Any one digest is enough (old twine sent only md5_digest).
	for i, keep := range []string{"md5_digest", "sha256_digest", "blake2_256_digest"} {
		version := fmt.Sprintf("1.%d", i)
		s := makeSdist(t, "demo", version, metadataFor("demo", version))
		fields := twineForm(kindSdist, "demo", version, s)
		for _, d := range []string{"md5_digest", "sha256_digest", "blake2_256_digest"} {
			if d != keep {
				fields = set(fields, d, del)
			}
		}
		// Digests are compared case-insensitively.
		for j, f := range fields {
			if f.k == keep {
				fields[j].v = strings.ToUpper(f.v)
			}
		}
		if r := e.post(t, e.token, fields, "demo-"+version+".tar.gz", s); r.StatusCode != 200 {
			t.Errorf("upload declaring only %s: %s %s", keep, r.Status, r.body)
		}
	}
}

// TestUploadRejected sends bad uploads, each of which must get a 4xx
// saying what is wrong and leave nothing behind: no project page and no
// stored blob.
func TestUploadRejected(t *testing.T) {
	e := newTestEnv(t)
	const name, version = "demo", "1.0"
	md := metadataFor(name, version)
	whl := makeWheel(t, name, version, md)
	whlName := wheelFilename(name, version)
	sd := makeSdist(t, name, version, md)
	sdName := "demo-1.0.tar.gz"
	di := "demo-1.0.dist-info/"
	wheelWith := func(entries ...zipEntry) []byte {
		return makeZip(t, append([]zipEntry{{Name: di + "WHEEL", Body: "Wheel-Version: 1.0\n"}}, entries...)...)
	}
	sdistWith := func(entries ...tarEntry) []byte { return makeTarGz(t, entries...) }
	wheelForm := func(content []byte) []formField { return twineForm(kindWheel, name, version, content) }
	sdistForm := func(content []byte) []formField { return twineForm(kindSdist, name, version, content) }

	type upload struct {
		fields   []formField
		filename string
		content  []byte
	}
	for _, tc := range []struct {
		name    string
		up      upload
		code    int
		wantMsg string
	}{
		{"no :action", upload{set(wheelForm(whl), ":action", del), whlName, whl}, 400, "no :action field"},
		{"other :action", upload{set(wheelForm(whl), ":action", "submit"), whlName, whl}, 400, `:action "submit" is not supported`},
		{"protocol 2", upload{set(wheelForm(whl), "protocol_version", "2"), whlName, whl}, 400, `protocol_version "2"`},
		{"no content", upload{wheelForm(whl), "", nil}, 400, "no content part"},
		{"no name", upload{set(wheelForm(whl), "name", del), whlName, whl}, 400, "no name field"},
		{"bad name", upload{set(wheelForm(whl), "name", "demo!"), whlName, whl}, 400, `form field name: project name "demo!" is not valid`},
		{"no version", upload{set(wheelForm(whl), "version", del), whlName, whl}, 400, "no version field"},
		{"bad version", upload{set(wheelForm(whl), "version", "one"), whlName, whl}, 400, "not a valid PEP 440 version"},
		{"local version", upload{set(wheelForm(whl), "version", "1.0+local"), whlName, whl}, 400, "local version label"},
		{"no filetype", upload{set(wheelForm(whl), "filetype", del), whlName, whl}, 400, "no filetype field"},
		{"egg", upload{set(wheelForm(whl), "filetype", "bdist_egg"), whlName, whl}, 400, `filetype "bdist_egg" is not accepted`},
		{"filetype mismatch", upload{set(set(wheelForm(whl), "filetype", kindSdist), "pyversion", "source"), whlName, whl}, 400, "filetype sdist does not match the file demo-1.0-py3-none-any.whl, which is a wheel"},
		{"filetype mismatch sdist", upload{set(sdistForm(sd), "filetype", kindWheel), sdName, sd}, 400, "does not match the file"},
		{"wheel without pyversion", upload{set(wheelForm(whl), "pyversion", del), whlName, whl}, 400, "no pyversion"},
		{"sdist with pyversion", upload{set(sdistForm(sd), "pyversion", "py3"), sdName, sd}, 400, `pyversion "py3" is not valid for an sdist`},
		{"no metadata_version", upload{set(wheelForm(whl), "metadata_version", del), whlName, whl}, 400, "no metadata_version"},
		{"metadata_version mismatch", upload{set(wheelForm(whl), "metadata_version", "2.2"), whlName, whl}, 400, `metadata_version "2.2" does not match`},
		{"no digest", upload{set(set(set(wheelForm(whl), "md5_digest", del), "sha256_digest", del), "blake2_256_digest", del), whlName, whl}, 400, "declares no digest"},
		{"wrong sha256", upload{set(wheelForm(whl), "sha256_digest", sha([]byte("other"))), whlName, whl}, 400, "SHA-256 digest"},
		{"wrong md5", upload{set(wheelForm(whl), "md5_digest", "0123456789abcdef0123456789abcdef"), whlName, whl}, 400, "MD5 digest"},
		{"wrong blake2", upload{set(wheelForm(whl), "blake2_256_digest", sha([]byte("x"))), whlName, whl}, 400, "BLAKE2b-256 digest"},
		{"duplicate name field", upload{append(wheelForm(whl), formField{"name", "demo"}), whlName, whl}, 400, "name appears 2 times"},
		{"attestations", upload{append(wheelForm(whl), formField{"attestations", "[]"}), whlName, whl}, 400, "attestations"},
		{"form name mismatch", upload{set(wheelForm(whl), "name", "other"), whlName, whl}, 400, `the form's name "other" does not match the Name "demo"`},
		{"form version mismatch", upload{set(wheelForm(whl), "version", "2.0"), whlName, whl}, 400, `the form's version "2.0" does not match the Version "1.0"`},
		{"egg filename", upload{wheelForm(whl), "demo-1.0.egg", whl}, 400, "not a wheel"},
		{"path in filename", upload{sdistForm(sd), "../demo-1.0.tar.gz", sd}, 400, "contains '/'"},
		{"no filename", upload{sdistForm(sd), "", sd}, 400, "no filename"},
		{"wheel named for another project", func() upload {
			w := makeWheel(t, "other", version, md)
			return upload{wheelForm(w), wheelFilename("other", version), w}
		}(), 400, "filename other-1.0-py3-none-any.whl names other 1.0, but the file's metadata says demo 1.0"},
		{"wheel filename of another project", func() upload {
			w := makeWheel(t, name, version, md)
			return upload{wheelForm(w), wheelFilename("other", version), w}
		}(), 400, "does not match its filename"},
		{"sdist filename of another version", func() upload {
			s := makeSdist(t, name, "2.0", md)
			return upload{sdistForm(s), "demo-2.0.tar.gz", s}
		}(), 400, "filename demo-2.0.tar.gz names demo 2.0, but the file's metadata says demo 1.0"},
		{"sdist of another project", func() upload {
			s := makeSdist(t, "other", version, md)
			return upload{sdistForm(s), "other-1.0.tar.gz", s}
		}(), 400, "filename other-1.0.tar.gz names other 1.0"},
		{"metadata local version", func() upload {
			w := makeWheel(t, name, version, "Metadata-Version: 2.1\nName: demo\nVersion: 1.0+local\n")
			return upload{wheelForm(w), whlName, w}
		}(), 400, "local version label"},
		{"metadata without name", func() upload {
			w := makeWheel(t, name, version, "Metadata-Version: 2.1\nVersion: 1.0\n")
			return upload{wheelForm(w), whlName, w}
		}(), 400, "METADATA: metadata has no Name"},
		{"metadata malformed", func() upload {
			s := makeSdist(t, name, version, "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nnot a header\n")
			return upload{sdistForm(s), sdName, s}
		}(), 400, `PKG-INFO: metadata line 4`},
		{"metadata version unsupported", func() upload {
			w := makeWheel(t, name, version, "Metadata-Version: 9.9\nName: demo\nVersion: 1.0\n")
			return upload{wheelForm(w), whlName, w}
		}(), 400, `Metadata-Version "9.9" is not supported`},
		{"not a zip", upload{wheelForm([]byte("not a zip")), whlName, []byte("not a zip")}, 400, "not a valid zip archive"},
		{"not a tar.gz", upload{sdistForm([]byte("not gzip")), sdName, []byte("not gzip")}, 400, "not a gzip-compressed tar archive"},
		{"zip traversal", func() upload {
			w := wheelWith(zipEntry{Name: di + "METADATA", Body: md}, zipEntry{Name: "../../evil.pth", Body: "import os"})
			return upload{wheelForm(w), whlName, w}
		}(), 400, `contains ".."`},
		{"zip absolute", func() upload {
			w := wheelWith(zipEntry{Name: di + "METADATA", Body: md}, zipEntry{Name: "/tmp/evil"})
			return upload{wheelForm(w), whlName, w}
		}(), 400, "absolute path"},
		{"zip symlink", func() upload {
			w := wheelWith(zipEntry{Name: di + "METADATA", Body: md}, zipEntry{Name: "demo/l", Body: "/etc/passwd", Mode: 0o120777})
			return upload{wheelForm(w), whlName, w}
		}(), 400, "symbolic link"},
		{"zip duplicate", func() upload {
			w := wheelWith(zipEntry{Name: di + "METADATA", Body: md}, zipEntry{Name: di + "METADATA", Body: "Metadata-Version: 2.1\nName: evil\nVersion: 1\n"})
			return upload{wheelForm(w), whlName, w}
		}(), 400, "appears more than once"},
		{"zip bomb", func() upload {
			w := wheelWith(zipEntry{Name: di + "METADATA", Body: md}, zipEntry{Name: "demo/zeros", Body: strings.Repeat("\x00", archive.RatioFloor+1)})
			return upload{wheelForm(w), whlName, w}
		}(), 413, "compression bomb"},
		{"zip with prepended data", func() upload {
			w := append([]byte("#!/usr/bin/env python\n"), whl...)
			return upload{wheelForm(w), whlName, w}
		}(), 400, "data before the zip archive's first entry"},
		{"zip with a second archive appended", func() upload {
			w := append(bytes.Clone(whl), makeZip(t, zipEntry{Name: "demo/__init__.py", Body: "import os"})...)
			return upload{wheelForm(w), whlName, w}
		}(), 400, "data before the zip archive's first entry or between its central directory and its end record"},
		{"zip names differing by case", func() upload {
			w := makeWheel(t, name, version, md, zipEntry{Name: "demo/Util.py"}, zipEntry{Name: "demo/util.py", Body: "evil"})
			return upload{wheelForm(w), whlName, w}
		}(), 400, "case-insensitive file name collision"},
		{"RECORD lies", func() upload {
			w := makeZip(t, zipEntry{Name: "demo/__init__.py", Body: "import os; os.system('evil')\n"}, zipEntry{Name: di + "METADATA", Body: md},
				zipEntry{Name: di + "WHEEL", Body: "Wheel-Version: 1.0\n"}, recordOf(di+"RECORD", []zipEntry{{Name: "demo/__init__.py", Body: "VALUE = 1\n"}, {Name: di + "METADATA", Body: md}, {Name: di + "WHEEL", Body: "Wheel-Version: 1.0\n"}}))
			return upload{wheelForm(w), whlName, w}
		}(), 400, `demo-1.0.dist-info/RECORD says "demo/__init__.py" has 10 bytes, but it has 29`},
		{"RECORD hides a file", func() upload {
			w := makeZip(t, zipEntry{Name: "demo/__init__.py", Body: "VALUE = 1\n"}, zipEntry{Name: "demo-1.0.pth", Body: "import evil"}, zipEntry{Name: di + "METADATA", Body: md},
				zipEntry{Name: di + "WHEEL", Body: "Wheel-Version: 1.0\n"}, recordOf(di+"RECORD", []zipEntry{{Name: "demo/__init__.py", Body: "VALUE = 1\n"}, {Name: di + "METADATA", Body: md}, {Name: di + "WHEEL", Body: "Wheel-Version: 1.0\n"}}))
			return upload{wheelForm(w), whlName, w}
		}(), 400, `RECORD does not list "demo-1.0.pth"`},
		{"wheel without METADATA", func() upload {
			w := wheelWith(zipEntry{Name: "demo/__init__.py"})
			return upload{wheelForm(w), whlName, w}
		}(), 400, "no demo-1.0.dist-info/METADATA"},
		{"tar traversal", func() upload {
			s := sdistWith(tarEntry{Name: "demo-1.0/PKG-INFO", Body: md}, tarEntry{Name: "demo-1.0/../../evil"})
			return upload{sdistForm(s), sdName, s}
		}(), 400, `contains ".."`},
		{"tar symlink", func() upload {
			s := sdistWith(tarEntry{Name: "demo-1.0/PKG-INFO", Body: md}, tarEntry{Name: "demo-1.0/l", Type: tar.TypeSymlink, Linkname: "/etc"})
			return upload{sdistForm(s), sdName, s}
		}(), 400, "symbolic link"},
		{"tar hard link", func() upload {
			s := sdistWith(tarEntry{Name: "demo-1.0/PKG-INFO", Body: md}, tarEntry{Name: "demo-1.0/l", Type: tar.TypeLink, Linkname: "/etc/shadow"})
			return upload{sdistForm(s), sdName, s}
		}(), 400, "hard link"},
		{"tar device", func() upload {
			s := sdistWith(tarEntry{Name: "demo-1.0/PKG-INFO", Body: md}, tarEntry{Name: "demo-1.0/d", Type: tar.TypeBlock})
			return upload{sdistForm(s), sdName, s}
		}(), 400, "device"},
		{"tar duplicate", func() upload {
			s := sdistWith(tarEntry{Name: "demo-1.0/PKG-INFO", Body: md}, tarEntry{Name: "demo-1.0/PKG-INFO", Body: md})
			return upload{sdistForm(s), sdName, s}
		}(), 400, "appears more than once"},
		{"tar bomb", func() upload {
			s := sdistWith(tarEntry{Name: "demo-1.0/PKG-INFO", Body: md}, tarEntry{Name: "demo-1.0/zeros", Body: strings.Repeat("\x00", archive.RatioFloor+1<<20)})
			return upload{sdistForm(s), sdName, s}
		}(), 413, "compression bomb"},
		{"sdist without PKG-INFO", func() upload {
			s := sdistWith(tarEntry{Name: "demo-1.0/setup.py"})
			return upload{sdistForm(s), sdName, s}
		}(), 400, "no demo-1.0/PKG-INFO"},
		{"field too large", upload{set(wheelForm(whl), "description", strings.Repeat("x", MaxFieldBytes+1)), whlName, whl}, 413, `form field "description" is larger than`},
		{"fields too large", func() upload {
			f := wheelForm(whl)
			for i := 0; i < 9; i++ {
				f = append(f, formField{"classifiers", strings.Repeat("x", MaxFieldBytes-100)})
			}
			return upload{f, whlName, whl}
		}(), 413, "fields are larger than"},
		{"too many parts", func() upload {
			f := wheelForm(whl)
			for i := 0; i < MaxFormParts; i++ {
				f = append(f, formField{"classifiers", "Topic :: Utilities"})
			}
			return upload{f, whlName, whl}
		}(), 413, "more than 2000 parts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, e.token, tc.up.fields, tc.up.filename, tc.up.content)
			if r.StatusCode != tc.code || !strings.Contains(r.body, tc.wantMsg) {
				t.Errorf("upload: %s %q; want %d with %q", r.Status, r.body, tc.code, tc.wantMsg)
			}
			e.checkNothingStored(t, name)
		})
	}
}

// checkNothingStored checks that the project has no page and the blob
// store is empty.
func (e *testEnv) checkNothingStored(t *testing.T, name string) {
	t.Helper()
	if r := e.get(t, "/simple/"+name+"/"); r.StatusCode != 404 {
		t.Errorf("after a refused upload, /simple/%s/ is %s:\n%s", name, r.Status, r.body)
	}
	if n := e.Blobs.Len(); n != 0 {
		t.Errorf("after a refused upload, the blob store holds %d blobs", n)
	}
}

func TestUploadMalformedRequests(t *testing.T) {
	e := newTestEnv(t)
	whl := makeWheel(t, "demo", "1.0", metadataFor("demo", "1.0"))
	good, ct := multipartBody(t, twineForm(kindWheel, "demo", "1.0", whl), wheelFilename("demo", "1.0"), whl, false)
	var twoFiles bytes.Buffer
	mw := multipart.NewWriter(&twoFiles)
	for _, f := range twineForm(kindWheel, "demo", "1.0", whl) {
		mw.WriteField(f.k, f.v)
	}
	for i := 0; i < 2; i++ {
		w, _ := mw.CreateFormFile("content", wheelFilename("demo", "1.0"))
		w.Write(whl)
	}
	mw.Close()
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		wantMsg           string
	}{
		{"form-urlencoded", "application/x-www-form-urlencoded", []byte(":action=file_upload"), "must be a multipart/form-data POST"},
		{"no boundary", "multipart/form-data", good.Bytes(), "must be a multipart/form-data POST"},
		{"truncated", ct, good.Bytes()[:good.Len()-200], "unexpected EOF"},
		{"two files", mw.FormDataContentType(), twoFiles.Bytes(), "more than one content part"},
	} {
		r := e.postRaw(t, e.token, bytes.NewReader(tc.body), tc.contentType)
		if r.StatusCode != 400 || !strings.Contains(r.body, tc.wantMsg) {
			t.Errorf("%s: %s %q; want 400 with %q", tc.name, r.Status, r.body, tc.wantMsg)
		}
		e.checkNothingStored(t, "demo")
	}
}

func TestUploadTooLarge(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.MaxUploadBytes = 64 << 10 })
	big := makeSdist(t, "demo", "1.0", metadataFor("demo", "1.0"), tarEntry{Name: "demo-1.0/data.bin", Body: string(randomBytes(100 << 10))})
	r := e.post(t, e.token, twineForm(kindSdist, "demo", "1.0", big), "demo-1.0.tar.gz", big)
	if r.StatusCode != 413 || !strings.Contains(r.body, "larger than the upload limit of 65536 bytes") {
		t.Errorf("oversize upload: %s %q; want 413", r.Status, r.body)
	}
	e.checkNothingStored(t, "demo")
	small := makeSdist(t, "demo", "1.0", metadataFor("demo", "1.0"))
	if r := e.post(t, e.token, twineForm(kindSdist, "demo", "1.0", small), "demo-1.0.tar.gz", small); r.StatusCode != 200 {
		t.Errorf("upload under the limit: %s %s", r.Status, r.body)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func TestUploadAuthorization(t *testing.T) {
	e := newTestEnv(t)
	e.uploadWheel(t, "demo", "1.0")
	bob := e.User(t, "bob", false)
	other := e.Token(t, e.alice, []string{"pypi:other"})
	readOnly := e.Token(t, e.alice, nil, access.Read)
	bobs := e.Token(t, bob, nil)
	s := makeSdist(t, "demo", "1.0", metadataFor("demo", "1.0"))
	fresh := makeSdist(t, "fresh", "1.0", metadataFor("fresh", "1.0"))
	for _, tc := range []struct {
		name, token string
		project     string
		content     []byte
		code        int
		wantMsg     string
	}{
		{"anonymous", "", "demo", s, 401, "needs an API token"},
		{"unknown token", access.NewToken(), "demo", s, 401, "unknown token"},
		{"token for another project", other, "demo", s, 403, "this token's scope does not allow publish on pypi:demo"},
		{"token for another project, new project", other, "fresh", fresh, 403, "does not allow publish on pypi:fresh"},
		{"read-only token", readOnly, "demo", s, 403, "does not allow publish"},
		{"not an owner", bobs, "demo", s, 403, "user bob is not an owner of pypi:demo"},
	} {
		r := e.post(t, tc.token, twineForm(kindSdist, tc.project, "1.0", tc.content), tc.project+"-1.0.tar.gz", tc.content)
		if r.StatusCode != tc.code || !strings.Contains(r.body, tc.wantMsg) {
			t.Errorf("%s: %s %q; want %d with %q", tc.name, r.Status, r.body, tc.code, tc.wantMsg)
		}
		if tc.code == 401 && r.Header.Get("WWW-Authenticate") != `Basic realm="trove"` {
			t.Errorf("%s: WWW-Authenticate = %q", tc.name, r.Header.Get("WWW-Authenticate"))
		}
	}
	if r := e.get(t, "/simple/demo/"); strings.Contains(r.body, ".tar.gz") {
		t.Errorf("a refused sdist is listed:\n%s", r.body)
	}
	if r := e.get(t, "/simple/fresh/"); r.StatusCode != 404 {
		t.Errorf("a refused project exists: %s", r.Status)
	}
	// The scoped token works for its own project.
	o := makeSdist(t, "other", "1.0", metadataFor("other", "1.0"))
	if r := e.post(t, other, twineForm(kindSdist, "other", "1.0", o), "other-1.0.tar.gz", o); r.StatusCode != 200 {
		t.Errorf("token scoped to pypi:other uploading other: %s %s", r.Status, r.body)
	}
}

func TestReupload(t *testing.T) {
	e := newTestEnv(t)
	w := e.uploadWheel(t, "demo", "1.0")
	fn := wheelFilename("demo", "1.0")
	r := e.post(t, e.token, twineForm(kindWheel, "demo", "1.0", w), fn, w)
	if r.StatusCode != 200 || !strings.Contains(r.body, "already uploaded with the same content") {
		t.Errorf("identical re-upload: %s %q; want 200", r.Status, r.body)
	}
	changed := makeWheel(t, "demo", "1.0", metadataFor("demo", "1.0", "Summary2: changed"))
	r = e.post(t, e.token, twineForm(kindWheel, "demo", "1.0", changed), fn, changed)
	if r.StatusCode != 409 || !strings.Contains(r.body, "File already exists") || !strings.Contains(r.body, sha(w)) {
		t.Errorf("re-upload with other content: %s %q; want 409 File already exists", r.Status, r.body)
	}
	// The original bytes are still served.
	if r := e.get(t, "/packages/"+sha(w)+"/"+fn); r.StatusCode != 200 || r.body != string(w) {
		t.Errorf("after a refused re-upload the file is %s", r.Status)
	}
	if r := e.get(t, "/packages/"+sha(changed)+"/"+fn); r.StatusCode != 404 {
		t.Errorf("the refused bytes are served: %s", r.Status)
	}
	// Another version's files are still welcome.
	e.uploadSdist(t, "demo", "1.0")
	e.uploadWheel(t, "demo", "1.1")
}

func TestUploadDeletedVersion(t *testing.T) {
	e := newTestEnv(t)
	w := e.uploadWheel(t, "demo", "1.0")
	e.uploadWheel(t, "demo", "2.0")
	if err := e.Registry.Delete(context.Background(), principal(e.alice), trove.Target{Ecosystem: trove.PyPI, Name: "demo", Version: "1.0"}, ""); err != nil {
		t.Fatal(err)
	}
	r := e.post(t, e.token, twineForm(kindWheel, "demo", "1.0", w), wheelFilename("demo", "1.0"), w)
	if r.StatusCode != 409 || !strings.Contains(r.body, "deleted") {
		t.Errorf("re-uploading a deleted release's file: %s %q; want 409", r.Status, r.body)
	}
	s := makeSdist(t, "demo", "1.0.0", metadataFor("demo", "1.0.0"))
	r = e.post(t, e.token, twineForm(kindSdist, "demo", "1.0.0", s), "demo-1.0.0.tar.gz", s)
	if r.StatusCode != 409 || !strings.Contains(r.body, "a deleted version can never be published again") {
		t.Errorf("a new file for the deleted version 1.0 (as 1.0.0): %s %q; want 409", r.Status, r.body)
	}
	page := e.get(t, "/simple/demo/")
	if strings.Contains(page.body, "demo-1.0") || !strings.Contains(page.body, "demo-2.0-py3-none-any.whl") {
		t.Errorf("project page after deleting 1.0:\n%s", page.body)
	}
}

// TestConcurrentUpload uploads one file from many clients at once:
// exactly one file is stored, every client is told it is there, and the
// bytes served have the advertised digest.
func TestConcurrentUpload(t *testing.T) {
	e := newTestEnv(t)
	w := makeWheel(t, "demo", "1.0", metadataFor("demo", "1.0"))
	fn := wheelFilename("demo", "1.0")
	const n = 8
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.post(t, e.token, twineForm(kindWheel, "demo", "1.0", w), fn, w)
			codes[i], bodies[i] = r.StatusCode, r.body
		}()
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 200 {
			t.Errorf("client %d: %d %s", i, codes[i], bodies[i])
		}
	}
	p, err := e.Registry.Project(context.Background(), trove.PyPI, "demo")
	if err != nil || len(p.Files) != 1 || len(p.Releases) != 1 {
		t.Fatalf("after concurrent uploads: %v, %d files", err, len(p.Files))
	}
	r := e.get(t, "/packages/"+sha(w)+"/"+fn)
	if r.StatusCode != 200 || sha([]byte(r.body)) != sha(w) {
		t.Errorf("served file: %s, sha256 %s, want %s", r.Status, sha([]byte(r.body)), sha(w))
	}

	// Different bytes under one filename: one wins, the others are told
	// the file exists.
	var won, lost int
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := makeWheel(t, "demo", "2.0", metadataFor("demo", "2.0", fmt.Sprintf("Keywords: k%d", i)))
			r := e.post(t, e.token, twineForm(kindWheel, "demo", "2.0", c), wheelFilename("demo", "2.0"), c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.StatusCode == 200:
				won++
			case r.StatusCode == 409:
				lost++
			default:
				t.Errorf("conflicting concurrent upload: %s %s", r.Status, r.body)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != n-1 {
		t.Errorf("conflicting concurrent uploads: %d won, %d lost; want 1 and %d", won, lost, n-1)
	}

	// The files of a new release, at once: both land in the one release.
	sd := makeSdist(t, "demo", "3.0", metadataFor("demo", "3.0"))
	wh := makeWheel(t, "demo", "3.0", metadataFor("demo", "3.0"))
	for _, up := range []struct {
		kind, fn string
		b        []byte
	}{{kindSdist, "demo-3.0.tar.gz", sd}, {kindWheel, wheelFilename("demo", "3.0"), wh}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.post(t, e.token, twineForm(up.kind, "demo", "3.0", up.b), up.fn, up.b); r.StatusCode != 200 {
				t.Errorf("concurrent upload of %s: %s %s", up.fn, r.Status, r.body)
			}
		}()
	}
	wg.Wait()
	p, err = e.Registry.Project(context.Background(), trove.PyPI, "demo")
	if err != nil {
		t.Fatal(err)
	}
	var files3 int
	for _, f := range p.Files {
		if strings.Contains(f.Filename, "3.0") {
			files3++
		}
	}
	if files3 != 2 {
		t.Errorf("release 3.0 has %d files, want 2", files3)
	}
}

func TestUploadMethods(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/legacy/", "POST"},
		{"PUT", "/legacy/", "POST"},
		{"POST", "/simple/", "GET, HEAD"},
		{"DELETE", "/simple/demo/", "GET, HEAD"},
		{"PUT", "/packages/" + digest + "/demo-1.0.tar.gz", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, e.url+tc.path, nil)
		r := do(t, req)
		if r.StatusCode != 405 || r.Header.Get("Allow") != tc.allow || !strings.Contains(r.body, "is not allowed") {
			t.Errorf("%s %s: %s Allow=%q %q; want 405 allowing %s", tc.method, tc.path, r.Status, r.Header.Get("Allow"), r.body, tc.allow)
		}
	}
	// Uploads also go to /legacy without the slash, as configured by some.
	s := makeSdist(t, "demo", "1.0", metadataFor("demo", "1.0"))
	body, ct := multipartBody(t, twineForm(kindSdist, "demo", "1.0", s), "demo-1.0.tar.gz", s, false)
	req, _ := http.NewRequest("POST", e.url+"/legacy", body)
	req.Header.Set("Content-Type", ct)
	req.SetBasicAuth("__token__", e.token)
	if r := do(t, req); r.StatusCode != 200 {
		t.Errorf("POST /legacy: %s %s", r.Status, r.body)
	}
}
