package secret

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/scan"
)

// benchSource returns JavaScript-like source of about size bytes: words,
// identifiers, numbers and newlines, with the letter t as common as in
// code (a prefix search pays for every candidate 't').
func benchSource(rng *rand.Rand, size int) string {
	words := []string{"function ", "return ", "const ", "this", ".value", " = ", "(x)", "\n  ", "require('./util')", "token",
		" // the trove_ prefix\n", "if (t) {\n", "}\n", "typeof ", "'string'", "throw new TypeError(msg)\n"}
	var b bytes.Buffer
	for b.Len() < size {
		b.WriteString(words[rng.IntN(len(words))])
		fmt.Fprintf(&b, "%d", rng.IntN(1000))
	}
	return b.String()
}

// benchTarball is an npm tarball of 400 source files of 2-64 KiB (about
// 13 MiB unpacked) and a few binary ones, without tokens: the common case.
func benchTarball(b *testing.B) (tgz []byte, unpacked int64) {
	rng := rand.New(rand.NewPCG(1, 2))
	entries := []archivetest.TarEntry{{Name: "package/package.json", Body: `{"name":"bench","version":"1.0.0"}`}}
	for i := range 400 {
		body := benchSource(rng, 2<<10+rng.IntN(62<<10))
		entries = append(entries, archivetest.TarEntry{Name: fmt.Sprintf("package/lib/m%d/f%d.js", i%20, i), Body: body})
	}
	for i := range 4 {
		bin := make([]byte, 256<<10)
		for j := range bin {
			bin[j] = byte(rng.IntN(256))
		}
		entries = append(entries, archivetest.TarEntry{Name: fmt.Sprintf("package/assets/img%d.png", i), Body: string(bin)})
	}
	for _, e := range entries {
		unpacked += int64(len(e.Body))
	}
	return archivetest.TarGz(b, entries...), unpacked
}

// BenchmarkScanTarball measures a whole scan of an npm tarball
// (decompression, tar walk and search), per unpacked byte.
func BenchmarkScanTarball(b *testing.B) {
	tgz, unpacked := benchTarball(b)
	a := &scan.Artifact{Ecosystem: "npm", Name: "bench", Version: "1.0.0", Files: []scan.File{file("bench-1.0.0.tgz", tgz)}}
	sc := New(&fakeRevoker{})
	b.SetBytes(unpacked)
	b.ReportMetric(float64(len(tgz)), "packed-bytes")
	for b.Loop() {
		if fs, err := sc.Scan(context.Background(), a); err != nil || len(fs) != 0 {
			b.Fatal(fs, err)
		}
	}
}

// BenchmarkScanWheel is BenchmarkScanTarball for the same files in a
// wheel (zip: each member inflated and its CRC checked), per unpacked byte.
func BenchmarkScanWheel(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var entries []archivetest.ZipEntry
	var unpacked int64
	for i := range 400 {
		body := benchSource(rng, 2<<10+rng.IntN(62<<10))
		entries = append(entries, archivetest.ZipEntry{Name: fmt.Sprintf("bench/m%d/f%d.py", i%20, i), Body: body})
		unpacked += int64(len(body))
	}
	whl := archivetest.Zip(b, entries...)
	a := &scan.Artifact{Ecosystem: "pypi", Name: "bench", Version: "1.0", Files: []scan.File{file("bench-1.0-py3-none-any.whl", whl)}}
	sc := New(&fakeRevoker{})
	b.SetBytes(unpacked)
	for b.Loop() {
		if fs, err := sc.Scan(context.Background(), a); err != nil || len(fs) != 0 {
			b.Fatal(fs, err)
		}
	}
}

// BenchmarkScanSearch measures the search alone over the same unpacked
// source, per byte: what the scanner adds to the walk the adapter does.
func BenchmarkScanSearch(b *testing.B) {
	src := []byte(benchSource(rand.New(rand.NewPCG(1, 2)), 16<<20))
	s := newSearcher()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if err := s.search(bytes.NewReader(src), func(hit) error { b.Fatal("hit"); return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeaksTarball is BenchmarkScanTarball for the credentials
// scanner: every gitleaks rule Trove keeps, per unpacked byte.
func BenchmarkLeaksTarball(b *testing.B) {
	tgz, unpacked := benchTarball(b)
	a := &scan.Artifact{Ecosystem: "npm", Name: "bench", Version: "1.0.0", Files: []scan.File{file("bench-1.0.0.tgz", tgz)}}
	l := leaksScanner(b, scan.Reject)
	b.SetBytes(unpacked)
	for b.Loop() {
		if fs, err := l.Scan(context.Background(), a); err != nil || len(fs) != 0 {
			b.Fatal(fs, err)
		}
	}
}

// BenchmarkLeaksSearch measures the credentials search alone over the
// unpacked source, per byte.
func BenchmarkLeaksSearch(b *testing.B) {
	src := []byte(benchSource(rand.New(rand.NewPCG(1, 2)), 16<<20))
	s := leaksScanner(b, scan.Reject).newSearch()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if err := s.search("lib/bench.js", bytes.NewReader(src), func(k leak) { b.Fatal(k.rule.id) }); err != nil {
			b.Fatal(err)
		}
	}
}
