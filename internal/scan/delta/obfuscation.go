package delta

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/trove-dev/trove/internal/scan"
)

// Obfuscated code
//
// Obfuscators leave marks minifiers do not: javascript-obfuscator's
// identifiers (_0x4f2a) by the hundred, and strings written as \x escapes.
// A file of JavaScript or Python is obfuscated when it has at least 50
// such identifiers and 2 per KiB, or when \x escapes make up a tenth of
// it. Minified code (long lines, short names) is not obfuscated. The rule
// compares the obfuscated bytes of a release with those of the previous
// one: a release that brings at least Options.ObfuscatedFloor of them,
// more than four times what the previous release had, is held. The
// previous release is read only when the new one has that much.

// maxObfuscationRead bounds what is read of one file for the measure,
// and obfuscationChunk the buffer it is read through.
const (
	maxObfuscationRead = 4 << 20
	obfuscationChunk   = 64 << 10
)

// obfuscation is what a release holds of obfuscated code.
type obfuscation struct {
	bytes int64
	files []string // the first few
}

// obfuscatedCode measures the obfuscated source files of an artifact.
func obfuscatedCode(ctx context.Context, a *scan.Artifact) (obfuscation, error) {
	var o obfuscation
	buf := make([]byte, obfuscationChunk)
	for _, f := range a.Files {
		if f.Content == nil {
			continue // described, not stored (the tests' artifacts)
		}
		err := scan.Walk(ctx, f, func(member string, r io.Reader) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			switch strings.ToLower(path.Ext(member)) {
			case ".js", ".mjs", ".cjs", ".py":
			default:
				return nil
			}
			m, err := measure(io.LimitReader(r, maxObfuscationRead), buf)
			if err != nil {
				return err
			}
			if m.obfuscated() {
				o.bytes += int64(m.n)
				if len(o.files) < 3 {
					o.files = append(o.files, member)
				}
			}
			return nil
		})
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// marks counts an obfuscator's marks in source text of n bytes.
type marks struct{ n, idents, escapes int }

// obfuscated reports whether the text bears an obfuscator's marks.
func (m marks) obfuscated() bool {
	if m.n < 1024 {
		return false
	}
	return m.idents >= 50 && m.idents*1024 >= 2*m.n || m.escapes*4*10 >= m.n
}

// obfuscated reports whether source text bears an obfuscator's marks.
func obfuscated(b []byte) bool {
	m, _ := measure(bytes.NewReader(b), make([]byte, len(b)+markLen))
	return m.obfuscated()
}

// markLen is the most a mark needs to be read: "_0x" and 8 hex digits.
const markLen = 3 + 8

// measure counts the marks of what r holds, reading it through buf (at
// least markLen+1 bytes long): the counts are those of the whole text,
// whatever the chunks, as a mark across two reads is kept for the next.
func measure(r io.Reader, buf []byte) (marks, error) {
	var m marks
	have := 0 // bytes in buf not yet looked at
	for {
		n, err := io.ReadFull(r, buf[have:])
		have += n
		m.n += n
		end := err != nil // the text ends in buf
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return m, err
		}
		b := buf[:have]
		// Without the end, look only where a whole mark fits.
		last := len(b) - markLen
		if end {
			last = len(b) - 6
		}
		i := 0
		for ; i <= last; i++ {
			switch {
			case b[i] == '_' && b[i+1] == '0' && b[i+2] == 'x' && hexRun(b[i+3:]) >= 4:
				m.idents++
			case b[i] == '\\' && b[i+1] == 'x' && hexRun(b[i+2:]) >= 2:
				m.escapes++
			}
		}
		if end {
			return m, nil
		}
		have = copy(buf, b[i:])
	}
}

// isHex is the table of hexadecimal digits.
var isHex = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdefABCDEF") {
		t[c] = true
	}
	return t
}()

// hexRun counts the hexadecimal digits b starts with (up to 8).
func hexRun(b []byte) int {
	n := 0
	for n < len(b) && n < 8 && isHex[b[n]] {
		n++
	}
	return n
}

// obfuscationJump reports a release that brings much more obfuscated code
// than the previous one had.
func (s *Scanner) obfuscationJump(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	if s.o.ObfuscatedFloor <= 0 {
		return nil, nil
	}
	now, err := obfuscatedCode(ctx, a)
	if err != nil || now.bytes < s.o.ObfuscatedFloor {
		return nil, err
	}
	before, err := obfuscatedCode(ctx, a.Previous)
	if err != nil {
		return nil, err
	}
	if now.bytes <= 4*before.bytes {
		return nil, nil
	}
	return []scan.Finding{{Rule: "obfuscation-jump", File: now.files[0],
		Message: fmt.Sprintf("obfuscated code grew to %s (%s) from %s in %s: obfuscators hide what code does, which is how payloads are slipped into a new version",
			human(now.bytes), strings.Join(now.files, ", "), human(before.bytes), a.Previous.Version)}}, nil
}
