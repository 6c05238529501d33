package secret

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/scan"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/trove-dev/trove/internal/access"
)

// reference finds tokens the slow way: a checksum check at every offset.
func reference(b []byte) []hit {
	binary := bytes.IndexByte(b[:min(len(b), binarySniff)], 0) >= 0
	var out []hit
	for i := 0; i+tokenLen <= len(b); i++ {
		if bytes.HasPrefix(b[i:], prefix) && access.CheckToken(string(b[i:i+tokenLen])) == nil {
			h := hit{token: string(b[i : i+tokenLen]), offset: int64(i)}
			if !binary {
				h.line = bytes.Count(b[:i], []byte{'\n'}) + 1
			}
			out = append(out, h)
		}
	}
	return out
}

// FuzzSearch checks that the search finds exactly what a check at every
// offset finds, with the real buffer and with tiny ones that put read
// boundaries everywhere.
func FuzzSearch(f *testing.F) {
	tok := access.NewToken()
	f.Add([]byte("x = '" + tok + "'\n"))
	f.Add([]byte(tok + tok + "\n" + tok[:30]))
	f.Add([]byte("trove_trove_" + tok + "\x00" + tok))
	f.Add([]byte(strings.Repeat("a\n", 40) + "trove_" + tok))
	for k := range 2 * tokenLen {
		f.Add([]byte(strings.Repeat("x", k) + tok + "\n" + tok)) // every alignment with the small buffers' reads
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := reference(b)
		var got []hit
		if err := newSearcher().search(bytes.NewReader(b), func(h hit) error { got = append(got, h); return nil }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(hit{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("search (-reference +got):\n%s", diff)
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return // a small buffer sniffs fewer bytes: lines may differ
		}
		for _, size := range []int{1, 7, 60} {
			s := &searcher{buf: make([]byte, size+tokenLen)}
			got = got[:0]
			if err := s.search(bytes.NewReader(b), func(h hit) error { got = append(got, h); return nil }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(hit{}), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("search with a %d-byte chunk (-reference +got):\n%s", size, diff)
			}
		}
	})
}

// FuzzLeaks checks the credentials search on any text: a GitHub token
// put on a line of its own anywhere is found there, once, whatever
// surrounds it, and no match is reported twice.
func FuzzLeaks(f *testing.F) {
	f.Add([]byte("const a = 1;\n"), uint32(0))
	f.Add([]byte(strings.Repeat("ghp_ s. AKIA -----BEGIN ", 3000)), uint32(chunk-10))
	f.Add([]byte(strings.Repeat("x", 3*chunk)), uint32(2*chunk+back))
	f.Add([]byte("\x00binary"), uint32(3))
	l := leaksScanner(f, scan.Reject)
	tok := "gh" + "p_" + randFrom(6, alnum, 36)
	f.Fuzz(func(t *testing.T, b []byte, at uint32) {
		pos := int(at) % (len(b) + 1)
		text := append(append(append([]byte{}, b[:pos]...), "\n"+tok+"\n"...), b[pos:]...)
		binary := bytes.IndexByte(text[:min(len(text), binarySniff)], 0) >= 0
		var got []leak
		if err := l.newSearch().search("lib/a.js", bytes.NewReader(text), func(k leak) { got = append(got, k) }); err != nil {
			t.Fatal(err)
		}
		seen := make(map[string]bool)
		found := 0
		for _, k := range got {
			id := fmt.Sprint(k.rule.id, k.offset, len(k.secret))
			if seen[id] {
				t.Errorf("reported twice: %s at %d", k.rule.id, k.offset)
			}
			seen[id] = true
			if k.rule.id == "github-pat" && k.secret == tok && k.offset == int64(pos+1) {
				found++
				if wantLine := bytes.Count(text[:pos+1], []byte{'\n'}) + 1; !binary && k.line != wantLine {
					t.Errorf("token on line %d, found on line %d", wantLine, k.line)
				}
			}
		}
		if found != 1 {
			t.Errorf("token at byte %d found %d times; findings %v", pos+1, found, got)
		}
	})
}
