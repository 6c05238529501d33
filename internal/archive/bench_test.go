package archive

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// benchFiles returns n files of size bytes of text-like content, which
// compresses about 4 times, as source does.
func benchFiles(n, size int) []zipEntry {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"def ", "return ", "self", ".value", " = ", "(x)", "\n    ", "import ", "numpy", "# comment\n"}
	var out []zipEntry
	for i := range n {
		var b bytes.Buffer
		for b.Len() < size {
			b.WriteString(words[rng.IntN(len(words))])
			fmt.Fprintf(&b, "%d", rng.IntN(1000))
		}
		out = append(out, zipEntry{Name: fmt.Sprintf("pkg/sub%d/mod%d.py", i%50, i), Body: b.String()})
	}
	return out
}

// BenchmarkOpenZip measures the structural walk and entry checks alone
// (nothing decompressed), per archive of 2,000 entries.
func BenchmarkOpenZip(b *testing.B) {
	z := makeZip(b, benchFiles(2000, 8<<10)...)
	b.SetBytes(int64(len(z)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := OpenZip(bytes.NewReader(z), int64(len(z)), DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZipWalk measures OpenZip and reading every entry (inflating it
// and checking its CRC-32), per compressed byte.
func BenchmarkZipWalk(b *testing.B) {
	z := makeZip(b, benchFiles(2000, 8<<10)...)
	b.SetBytes(int64(len(z)))
	for b.Loop() {
		zr, err := OpenZip(bytes.NewReader(z), int64(len(z)), DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if err := zr.Walk(func(_ Entry, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWalkTarGz measures a .tar.gz walk to the end of its gzip
// stream, per compressed byte.
func BenchmarkWalkTarGz(b *testing.B) {
	var entries []tarEntry
	for _, f := range benchFiles(2000, 8<<10) {
		entries = append(entries, tarEntry{Name: f.Name, Body: f.Body})
	}
	tgz := makeTgz(b, entries...)
	b.SetBytes(int64(len(tgz)))
	for b.Loop() {
		if err := WalkTarGz(bytes.NewReader(tgz), DefaultLimits(), func(Entry, io.Reader) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
