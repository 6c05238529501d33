package secret

import (
	"bytes"
	"io"

	"github.com/trove-dev/trove/internal/access"
)

// tokenLen is the length of a Trove token: the prefix, the secret and
// its checksum (access.TokenPattern).
const tokenLen = len(access.TokenPrefix) + 49

// chunk is how much of a member is searched at a time.
const chunk = 64 << 10

// binarySniff is how many leading bytes decide whether a member is
// binary (a NUL byte among them), as git decides.
const binarySniff = 8000

var prefix = []byte(access.TokenPrefix)

// A hit is a string shaped like a token with a valid checksum.
type hit struct {
	token  string
	line   int   // 1-based line of a text member; 0 in a binary one
	offset int64 // byte offset in the member
}

// A searcher finds tokens in a stream with a literal search for the
// prefix: only where the prefix occurs are the following characters and
// the checksum read. It keeps one buffer between members.
type searcher struct {
	buf []byte
}

func newSearcher() *searcher {
	return &searcher{buf: make([]byte, chunk+tokenLen)}
}

// search reads r to its end and calls found for each token in it, in
// order. Lines are counted only up to the hits (bytes.Count between
// them), so text costs little more than the prefix search.
func (s *searcher) search(r io.Reader, found func(hit) error) error {
	buf := s.buf
	n := 0         // bytes in buf
	var base int64 // offset in the member of buf[0]
	line := 1      // line number at buf[counted]
	counted := 0   // position in buf up to which newlines are counted
	sniffed, binary := false, false
	for {
		m, err := io.ReadFull(r, buf[n:])
		n += m
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return err
		}
		if !sniffed {
			// The first read fills the buffer (or reaches the end), which
			// is longer than binarySniff.
			binary = bytes.IndexByte(buf[:min(n, binarySniff)], 0) >= 0
			sniffed = true
		}
		keep := n // where the bytes kept for the next round start
		for i := 0; ; {
			j := bytes.Index(buf[i:n], prefix)
			if j < 0 {
				keep = max(i, n-(len(prefix)-1)) // a prefix may straddle the read
				break
			}
			j += i
			if j+tokenLen > n {
				if !eof {
					keep = j // complete it with the next read
					break
				}
				i = j + 1
				continue
			}
			if cand := buf[j : j+tokenLen]; access.CheckToken(string(cand)) == nil {
				h := hit{token: string(cand), offset: base + int64(j)}
				if !binary {
					line += bytes.Count(buf[counted:j], []byte{'\n'})
					counted = j
					h.line = line
				}
				if err := found(h); err != nil {
					return err
				}
			}
			i = j + 1
		}
		if eof {
			return nil
		}
		if keep < 0 {
			keep = 0
		}
		if !binary {
			line += bytes.Count(buf[counted:keep], []byte{'\n'})
		}
		copy(buf, buf[keep:n])
		n -= keep
		base += int64(keep)
		counted = 0
	}
}
