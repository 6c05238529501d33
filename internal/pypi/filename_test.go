package pypi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFilename(t *testing.T) {
	for _, tc := range []struct {
		fn      string
		want    []distFile
		wantErr string
	}{
		{fn: "demo-1.0-py3-none-any.whl", want: []distFile{{Kind: kindWheel, Name: "demo", Version: "1.0", Ext: ".whl", Python: "py3", ABI: "none", Platform: "any"}}},
		{fn: "trove_e2e_lib-1.0.0-py3-none-any.whl", want: []distFile{{Kind: kindWheel, Name: "trove_e2e_lib", Version: "1.0.0", Ext: ".whl", Python: "py3", ABI: "none", Platform: "any"}}},
		{fn: "numpy-1.26.4-1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", want: []distFile{{Kind: kindWheel, Name: "numpy", Version: "1.26.4",
			Ext: ".whl", Build: "1", Python: "cp312", ABI: "cp312", Platform: "manylinux_2_17_x86_64.manylinux2014_x86_64"}}},
		{fn: "Zope.Interface-5.0-py2.py3-none-any.whl", want: []distFile{{Kind: kindWheel, Name: "Zope.Interface", Version: "5.0", Ext: ".whl", Python: "py2.py3", ABI: "none", Platform: "any"}}},
		{fn: "demo-1.0.tar.gz", want: []distFile{{Kind: kindSdist, Name: "demo", Version: "1.0", Ext: ".tar.gz"}}},
		{fn: "trove-e2e-lib-1.0.0.tar.gz", want: []distFile{{Kind: kindSdist, Name: "trove-e2e-lib", Version: "1.0.0", Ext: ".tar.gz"}}},
		{fn: "demo-1.0.zip", want: []distFile{{Kind: kindSdist, Name: "demo", Version: "1.0", Ext: ".zip"}}},
		{fn: "demo-1!2.0rc1.tar.gz", want: []distFile{{Kind: kindSdist, Name: "demo", Version: "1!2.0rc1", Ext: ".tar.gz"}}},
		// "1-1" is a version (1.post1), so this has two readings.
		{fn: "foo-1-1.tar.gz", want: []distFile{{Kind: kindSdist, Name: "foo", Version: "1-1", Ext: ".tar.gz"}, {Kind: kindSdist, Name: "foo-1", Version: "1", Ext: ".tar.gz"}}},
		{fn: "demo-1.0-py3-none.whl", wantErr: "want {name}"},
		{fn: "demo-1.0-x-y-py3-none-any.whl", wantErr: "want {name}"},
		{fn: "demo-1.0-b1-py3-none-any.whl", wantErr: "build tag"},
		{fn: "demo-one-py3-none-any.whl", wantErr: "PEP 440"},
		{fn: "_demo-1.0-py3-none-any.whl", wantErr: "escaped project name"},
		{fn: "demo-1.0-py3-none-a+y.whl", wantErr: "compatibility tag"},
		{fn: "demo-1.0-py3-none-.whl", wantErr: "compatibility tag"},
		{fn: "demo.tar.gz", wantErr: "want {name}-{version}.tar.gz"},
		{fn: "demo-x.tar.gz", wantErr: "want {name}-{version}.tar.gz"},
		{fn: "-1.0.tar.gz", wantErr: "want {name}-{version}.tar.gz"},
		{fn: "demo-1.0.tar.bz2", wantErr: "not a wheel"},
		{fn: "demo-1.0.egg", wantErr: "not a wheel"},
		{fn: "demo-1.0.tgz", wantErr: "not a wheel"},
		{fn: "../demo-1.0.tar.gz", wantErr: "contains '/'"},
		{fn: "dir\\demo-1.0.tar.gz", wantErr: "contains '\\\\'"},
		{fn: "demo 1.0.tar.gz", wantErr: "contains ' '"},
		{fn: "démo-1.0.tar.gz", wantErr: "contains"},
		{fn: "", wantErr: "want 1 to"},
		{fn: strings.Repeat("a", 250) + "-1.0.tar.gz", wantErr: "want 1 to"},
	} {
		got, err := parseFilename(tc.fn)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseFilename(%q) = %+v, %v; want an error containing %q", tc.fn, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseFilename(%q): %v", tc.fn, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseFilename(%q) mismatch (-want +got):\n%s", tc.fn, diff)
		}
	}
}

func TestMatchFilename(t *testing.T) {
	for _, tc := range []struct {
		fn, name, version string
		wantErr           string
	}{
		{"demo-1.0-py3-none-any.whl", "Demo", "1.0.0", ""},
		{"zope_interface-5.0-py3-none-any.whl", "zope.interface", "5", ""},
		{"trove-e2e-lib-1.0.0.tar.gz", "trove_e2e_lib", "1.0.0", ""},
		{"foo-1-1.tar.gz", "foo-1", "1", ""},
		{"foo-1-1.tar.gz", "foo", "1.post1", ""},
		{"demo-1.0-py3-none-any.whl", "other", "1.0", "names demo 1.0, but the file's metadata says other 1.0"},
		{"demo-1.0.tar.gz", "demo", "1.1", "names demo 1.0, but the file's metadata says demo 1.1"},
		{"demo-1.0.tar.gz", "demo", "1.0+local", "local version"},
	} {
		_, err := matchFilename(tc.fn, tc.name, tc.version)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("matchFilename(%q, %q, %q) = %v; want error %q", tc.fn, tc.name, tc.version, err, tc.wantErr)
		}
	}
}

func FuzzParseFilename(f *testing.F) {
	for _, s := range []string{"demo-1.0-py3-none-any.whl", "a-b-1-1.tar.gz", "x-1.0.zip", "numpy-1.26.4-1-cp312-cp312-manylinux_2_17_x86_64.whl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fn string) {
		ds, err := parseFilename(fn)
		if err != nil {
			return
		}
		if len(ds) == 0 {
			t.Fatalf("parseFilename(%q) returned no reading and no error", fn)
		}
		for _, d := range ds {
			if _, err := (Rules{}).ParseName(Normalize(d.Name)); err != nil {
				t.Fatalf("parseFilename(%q) = name %q: %v", fn, d.Name, err)
			}
			if _, err := ParseVersion(d.Version); err != nil {
				t.Fatalf("parseFilename(%q) = version %q: %v", fn, d.Version, err)
			}
			if !strings.HasSuffix(fn, d.Ext) || !strings.HasPrefix(fn, d.Name+"-"+d.Version) {
				t.Fatalf("parseFilename(%q) = %+v, which does not spell the filename", fn, d)
			}
			// Every reading matches the name and version it found.
			if _, err := matchFilename(fn, d.Name, d.Version); err != nil && !strings.Contains(err.Error(), "local version") {
				t.Fatalf("matchFilename(%q, %q, %q): %v", fn, d.Name, d.Version, err)
			}
		}
	})
}
