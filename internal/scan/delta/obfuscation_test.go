package delta

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/scan"
)

// tarball is an npm tarball of the files given.
func tarball(t *testing.T, version string, files map[string]string) *scan.Artifact {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	a := npmArtifact(version, nil, int64(b.Len()*4))
	a.Files[0].Size, a.Files[0].Content = int64(b.Len()), bytes.NewReader(b.Bytes())
	return a
}

// obfuscatorOutput is code as javascript-obfuscator writes it: a string
// table of \x escapes and _0x identifiers, about n bytes.
func obfuscatorOutput(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "var _0x%04x=['\\x68\\x74\\x74\\x70\\x73','\\x72\\x65\\x71'];(function(_0x%04x,_0x%04x){var _0x%04x=function(_0x%04x){while(--_0x%04x){_0x%04x['push'](_0x%04x['shift']());}};_0x%04x(++_0x%04x);}(_0x%04x,0x1a3));",
			i, i+1, i+2, i+3, i+4, i+4, i+1, i+1, i+3, i+2, i)
	}
	return b.String()
}

// minified is minified code without an obfuscator's marks.
func minified(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "function a%d(b,c){return b+c*%d}var d%d=a%d(1,2);", i, i, i, i)
	}
	return b.String()
}

func TestObfuscationJump(t *testing.T) {
	s := New(Defaults())
	plain := map[string]string{"package.json": `{"name":"demo"}`, "index.js": "module.exports = function add(a, b) { return a + b }\n"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range plain {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name       string
		prev, next map[string]string
		held       bool
	}{
		{"an obfuscated file appears", plain, with(map[string]string{"lib/setup.js": obfuscatorOutput(40 << 10)}), true},
		{"it was there before", with(map[string]string{"lib/setup.js": obfuscatorOutput(40 << 10)}), with(map[string]string{"lib/setup.js": obfuscatorOutput(41 << 10)}), false},
		{"minified, not obfuscated", plain, with(map[string]string{"dist/app.min.js": minified(200 << 10)}), false},
		{"too little to count", plain, with(map[string]string{"lib/x.js": obfuscatorOutput(8 << 10)}), false},
		{"not source", plain, with(map[string]string{"data/table.txt": obfuscatorOutput(40 << 10)}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tarball(t, "1.1.0", tc.next)
			a.Previous = tarball(t, "1.0.0", tc.prev)
			fs, err := s.Scan(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			var got *scan.Finding
			for i := range fs {
				if fs[i].Rule == "obfuscation-jump" {
					got = &fs[i]
				}
			}
			if (got != nil) != tc.held {
				t.Fatalf("findings %+v, want held %v", fs, tc.held)
			}
			if got != nil && (got.File != "package/lib/setup.js" || got.Verdict != scan.Hold || !strings.Contains(got.Message, "in 1.0.0")) {
				t.Errorf("finding %+v", got)
			}
		})
	}
}

// TestMeasureInChunks: reading through a small buffer counts the marks of
// the whole text, marks across two reads included, at every buffer size.
func TestMeasureInChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"_0x4f2a", "_0x1234abcd99", "\\x41", "\\x4", "_0x12", "var ", "x", "\\", "_", "0", "\n"}
	for round := 0; round < 200; round++ {
		var b strings.Builder
		for b.Len() < 300+rng.IntN(3000) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		want, err := measure(strings.NewReader(text), make([]byte, len(text)+markLen))
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{markLen + 1, markLen + 2, 17, 64, 1000} {
			got, err := measure(strings.NewReader(text), make([]byte, size))
			if err != nil || got != want {
				t.Fatalf("round %d, buffer %d: %+v, %v; the whole text: %+v", round, size, got, err, want)
			}
		}
	}
}
