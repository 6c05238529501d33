package pypi

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/trove-dev/trove/internal/trove"
)

const digest = "b9765af52145a1fde5d5be8f0e285a638ee58e1c5281224b451b16eaecd13229"

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		path    string
		want    request
		wantErr string
	}{
		{path: "/simple/", want: request{ep: epIndex}},
		{path: "/simple", want: request{ep: epRedirect, location: "/simple/"}},
		{path: "/simple/demo/", want: request{ep: epProject, name: "demo"}},
		{path: "/simple/zope-interface/", want: request{ep: epProject, name: "zope-interface"}},
		{path: "/simple/demo", want: request{ep: epRedirect, name: "demo", location: "/simple/demo/"}},
		{path: "/simple/Zope.Interface/", want: request{ep: epRedirect, name: "Zope.Interface", location: "/simple/zope-interface/"}},
		{path: "/simple/Foo__Bar", want: request{ep: epRedirect, name: "Foo__Bar", location: "/simple/foo-bar/"}},
		{path: "/simple/%46oo/", want: request{ep: epRedirect, name: "Foo", location: "/simple/foo/"}},
		{path: "/simple/a%20b/", wantErr: "not valid"},
		{path: "/simple/a%2Fb/", wantErr: "not a valid escaped path"},
		{path: "/simple/-x-/", wantErr: "not valid"},
		{path: "/simple//", wantErr: "not valid"},
		{path: "/simple/demo/x", wantErr: "no such PyPI URL"},
		{path: "/simple/%zz/", wantErr: "not a valid escaped path"},
		{path: "/packages/" + digest + "/demo-1.0.tar.gz", want: request{ep: epFile, digest: digest, filename: "demo-1.0.tar.gz"}},
		{path: "/packages/" + digest + "/demo-1.0-py3-none-any.whl", want: request{ep: epFile, digest: digest, filename: "demo-1.0-py3-none-any.whl"}},
		{path: "/packages/" + digest + "/demo-1.0-py3-none-any.whl.metadata", want: request{ep: epMetadata, digest: digest, filename: "demo-1.0-py3-none-any.whl"}},
		{path: "/packages/" + digest + "/demo-1%211.0.tar.gz", want: request{ep: epFile, digest: digest, filename: "demo-1!1.0.tar.gz"}},
		{path: "/packages/" + strings.ToUpper(digest) + "/demo-1.0.tar.gz", wantErr: "64 lowercase hex"},
		{path: "/packages/abc/demo-1.0.tar.gz", wantErr: "64 lowercase hex"},
		{path: "/packages/" + digest + "/demo.exe", wantErr: "not a wheel"},
		{path: "/packages/" + digest + "/..%2Fdemo-1.0.tar.gz", wantErr: "not a valid escaped path"},
		{path: "/packages/" + digest + "/demo-1.0.tar.gz/x", wantErr: "no such PyPI URL"},
		{path: "/packages/" + digest + "/.metadata", wantErr: "filename"},
		{path: "/pypi/demo/json", want: request{ep: epJSONProject, name: "demo"}},
		{path: "/pypi/Demo/json/", want: request{ep: epJSONProject, name: "Demo"}},
		{path: "/pypi/demo/1.0/json", want: request{ep: epJSONRelease, name: "demo", version: "1.0"}},
		{path: "/pypi/demo/1.0/json/", want: request{ep: epJSONRelease, name: "demo", version: "1.0"}},
		{path: "/pypi/demo//json", wantErr: "no such PyPI URL"},
		{path: "/pypi/demo", wantErr: "no such PyPI URL"},
		{path: "/pypi/demo/1.0/2.0/json", wantErr: "no such PyPI URL"},
		{path: "/pypi/-bad/json", wantErr: "not valid"},
		{path: "/legacy/", want: request{ep: epUpload}},
		{path: "/legacy", want: request{ep: epUpload}},
		{path: "/legacy/x", wantErr: "no such PyPI URL"},
		{path: "/", wantErr: "no such PyPI URL"},
		{path: "", wantErr: "no such PyPI URL"},
		{path: "simple/", wantErr: "no such PyPI URL"},
		{path: "/other/", wantErr: "no such PyPI URL"},
	} {
		got, err := parsePath(tc.path)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, trove.ErrNotFound) {
				t.Errorf("parsePath(%q) = %+v, %v; want a not-found error containing %q", tc.path, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parsePath(%q): %v", tc.path, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(request{})); diff != "" {
			t.Errorf("parsePath(%q) mismatch (-want +got):\n%s", tc.path, diff)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/simple/", "/simple/Demo", "/simple/demo/", "/packages/" + digest + "/demo-1.0.tar.gz.metadata",
		"/pypi/demo/1.0/json", "/legacy", "/simple/%41/", "/packages/" + digest + "/a-b-1-1.zip"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := parsePath(path)
		if err != nil {
			if !errors.Is(err, trove.ErrNotFound) {
				t.Fatalf("parsePath(%q): error %v does not wrap ErrNotFound", path, err)
			}
			return
		}
		switch req.ep {
		case epProject:
			if n, err := (Rules{}).ParseName(req.name); err != nil || string(n) != req.name {
				t.Fatalf("parsePath(%q) = project %q, which is not normalized", path, req.name)
			}
		case epRedirect:
			// The location must itself parse, without another redirect.
			again, err := parsePath(req.location)
			if err != nil || again.ep == epRedirect {
				t.Fatalf("parsePath(%q) redirects to %q, which parses as %+v, %v", path, req.location, again, err)
			}
		case epFile, epMetadata:
			if _, err := parseFilename(req.filename); err != nil || strings.ContainsAny(req.filename, "/\\") {
				t.Fatalf("parsePath(%q) = file %q: %v", path, req.filename, err)
			}
		case epJSONRelease:
			if req.version == "" || strings.Contains(req.version, "/") {
				t.Fatalf("parsePath(%q) = version %q", path, req.version)
			}
		}
	})
}
