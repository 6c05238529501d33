package goproxy

import (
	"errors"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
	"golang.org/x/mod/module"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want request
		err  error
	}{
		{"/example.com/m/@v/list", request{ep: epList, module: "example.com/m"}, nil},
		{"/example.com/m/@latest", request{ep: epLatest, module: "example.com/m"}, nil},
		{"/example.com/m/@v/v1.2.3.info", request{ep: epInfo, module: "example.com/m", version: "v1.2.3"}, nil},
		{"/example.com/m/@v/v1.2.3.mod", request{ep: epMod, module: "example.com/m", version: "v1.2.3"}, nil},
		{"/example.com/m/@v/v1.2.3.zip", request{ep: epZip, module: "example.com/m", version: "v1.2.3"}, nil},
		{"/example.com/m/v2/@v/v2.0.0+incompatible.zip", request{ep: epZip, module: "example.com/m/v2", version: "v2.0.0+incompatible"}, nil},
		{"/github.com/!burnt!sushi/toml/@v/v1.0.0-!r!c1.info", request{ep: epInfo, module: "github.com/BurntSushi/toml", version: "v1.0.0-RC1"}, nil},
		{"/-/upload", request{ep: epUpload}, nil},
		{"/sumdb/127.0.0.1:8080/log/supported", request{ep: epSumdb, sumdb: "127.0.0.1:8080/log/supported"}, nil},
		{"/github.com/BurntSushi/toml/@v/list", request{}, trove.ErrInvalid},
		{"/example.com/m/@v/v1.0.0-RC1.info", request{}, trove.ErrInvalid},
		{"/example.com/m/@v/master.info", request{}, trove.ErrNotFound},
		{"/example.com/m/@v/v1.2.info", request{}, trove.ErrNotFound},
		{"/example.com/m/@v/v1.2.3.tar", request{}, trove.ErrNotFound},
		{"/example.com/m", request{}, trove.ErrNotFound},
		{"/nodot/@v/list", request{}, trove.ErrNotFound},
		{"/example.com/m/@v/", request{}, trove.ErrNotFound},
		{"/example.com/!/@v/list", request{}, trove.ErrNotFound},
		{"", request{}, trove.ErrNotFound},
		{"/", request{}, trove.ErrNotFound},
	} {
		got, err := parsePath(tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("parsePath(%q) = %+v, %v, want error %v", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parsePath(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParsePath checks that parsePath never panics, that its errors are
// 400 or 404 material, and that what it parses is valid and round-trips
// through the case-encoding.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/example.com/m/@v/list", "/github.com/!burnt!sushi/toml/@v/v1.0.0-!r!c1.info",
		"/example.com/m/@latest", "/-/upload", "/sumdb/x/latest", "/a/@v/v1.0.0.zip", "/example.com/m/v2/@v/v2.0.0+incompatible.mod"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req, err := parsePath(p)
		if err != nil {
			if !errors.Is(err, trove.ErrNotFound) && !errors.Is(err, trove.ErrInvalid) {
				t.Fatalf("parsePath(%q) = %v, want a not-found or invalid error", p, err)
			}
			return
		}
		switch req.ep {
		case epUpload, epSumdb:
			return
		}
		if err := module.CheckPath(req.module); err != nil {
			t.Fatalf("parsePath(%q) module %q: %v", p, req.module, err)
		}
		esc, err := module.EscapePath(req.module)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		switch req.ep {
		case epList:
			want = "/" + esc + "/@v/list"
		case epLatest:
			want = "/" + esc + "/@latest"
		default:
			if module.CanonicalVersion(req.version) != req.version {
				t.Fatalf("parsePath(%q) version %q is not canonical", p, req.version)
			}
			ev, err := module.EscapeVersion(req.version)
			if err != nil {
				t.Fatal(err)
			}
			want = "/" + esc + "/@v/" + ev + map[endpoint]string{epInfo: ".info", epMod: ".mod", epZip: ".zip"}[req.ep]
		}
		if want != p && !strings.HasPrefix(p, "/-/") {
			t.Fatalf("parsePath(%q) = %+v, which escapes back to %q", p, req, want)
		}
	})
}
