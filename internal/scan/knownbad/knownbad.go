// Package knownbad is the known-bad database and the upload scanner over
// it. The database (tables malware_records, malware_versions and
// malware_patterns, filled by trove malware import) holds what sources
// say is malicious: package versions (OSV MAL- records, such as the
// OpenSSF malicious-packages repository's), sha256 digests of artifacts
// or archive members, and snippets, distinctive malicious text matched
// literally in members. An upload or upstream import that is listed, or
// holds a listed file or snippet, is rejected with a finding marked
// Malicious that names the record ("matches MAL-2025-1234: …"); an
// import also marks the listed versions malicious in curation, so that
// they are never served from an upstream (see docs/scanning.md).
//
// # Cost and limits
//
// One query finds what is listed for the package; every file and every
// member is hashed while it is searched for the snippets, in one read
// through a 64 KiB window, and the digests are looked up in batches of
// meta.MaxMalwareLookup, each one indexed query. Snippets are at most
// [MaxSnippetLen] bytes and the database holds at most [MaxSnippets];
// archives are walked with archive.DefaultLimits (scan.Walk). Memory is
// the window, one digest per member and the snippets.
package knownbad

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// MaxFindings bounds the findings of one scan; one more counts the rest.
const MaxFindings = 20

// Rules of the findings.
const (
	RuleVersion = "known-bad-version"
	RuleHash    = "known-bad-hash"
	RuleSnippet = "known-bad-snippet"
)

// A Store is the known-bad database as the scanner reads it; *meta.DB is
// one.
type Store interface {
	// MalwareVersionsOf returns what records list for a package.
	MalwareVersionsOf(ctx context.Context, eco trove.Ecosystem, name trove.Name) ([]meta.MalwareVersionsMatch, error)
	// MalwarePatterns returns the patterns of a kind with one of values
	// (at most meta.MaxMalwareLookup), or all of them for nil values.
	MalwarePatterns(ctx context.Context, kind string, values []string) ([]meta.MalwareMatch, error)
}

// A Scanner rejects what the known-bad database lists.
type Scanner struct {
	db Store
}

// New returns a scanner over db.
func New(db Store) *Scanner { return &Scanner{db: db} }

// Name implements scan.Scanner.
func (*Scanner) Name() string { return "known-bad" }

// A digest is the sha256 of a file or member and where it was.
type digest struct {
	hex, file string
}

// Scan implements scan.Scanner.
func (sc *Scanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	var out findings
	eco := trove.Ecosystem(a.Ecosystem)
	listed, err := sc.db.MalwareVersionsOf(ctx, eco, trove.Name(a.Name))
	if err != nil {
		return nil, fmt.Errorf("looking up %s %s: %w", a.Ecosystem, a.Name, err)
	}
	for _, l := range listed {
		s, err := parseSpec(l.Spec)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", l.RecordID, err)
		}
		if s.matches(eco, a.Version) {
			out.add(scan.Finding{Rule: RuleVersion, Message: fmt.Sprintf("matches %s: %s (%s %s %s is listed as malicious)", l.RecordID, l.Summary, a.Ecosystem, a.Name, a.Version)})
		}
	}
	snips, err := sc.db.MalwarePatterns(ctx, meta.PatternSnippet, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the snippets: %w", err)
	}
	se := newSearch(snips)
	var digests []digest
	for _, f := range a.Files {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(scan.ContextReaderAt(ctx, f.Content), 0, f.Size)); err != nil {
			return nil, fmt.Errorf("reading %s: %w", f.Name, err)
		}
		whole := hex.EncodeToString(h.Sum(nil))
		digests = append(digests, digest{whole, f.Name})
		err := scan.Walk(ctx, f, func(member string, r io.Reader) error {
			hits, sum, err := se.search(r)
			if err != nil {
				return err
			}
			if sum != whole || member != f.Name {
				digests = append(digests, digest{sum, member})
			}
			for _, h := range hits {
				out.add(scan.Finding{Rule: RuleSnippet, File: member, Line: h.line,
					Message: fmt.Sprintf("matches %s: %s (a known malicious snippet%s)", h.m.RecordID, h.m.Summary, labelled(h.m.Label))})
			}
			return nil
		})
		switch {
		case errors.Is(err, trove.ErrInvalid) || errors.Is(err, trove.ErrTooLarge):
			out.add(scan.Finding{Rule: "unreadable", File: f.Name, Verdict: scan.Reject,
				Message: fmt.Sprintf("%s could not be searched for known-bad files: %v", f.Name, err)})
		case err != nil:
			return nil, fmt.Errorf("searching %s: %w", f.Name, err)
		}
	}
	for len(digests) > 0 {
		batch := digests[:min(len(digests), meta.MaxMalwareLookup)]
		digests = digests[len(batch):]
		where := map[string][]string{}
		var values []string
		for _, d := range batch {
			if where[d.hex] == nil {
				values = append(values, d.hex)
			}
			where[d.hex] = append(where[d.hex], d.file)
		}
		ms, err := sc.db.MalwarePatterns(ctx, meta.PatternSHA256, values)
		if err != nil {
			return nil, fmt.Errorf("looking up digests: %w", err)
		}
		for _, m := range ms {
			for _, file := range where[m.Value] {
				out.add(scan.Finding{Rule: RuleHash, File: file,
					Message: fmt.Sprintf("matches %s: %s (its sha256 %s… is listed as malicious%s)", m.RecordID, m.Summary, m.Value[:12], labelled(m.Label))})
			}
		}
	}
	return out.list(), nil
}

func labelled(label string) string {
	if label == "" {
		return ""
	}
	return fmt.Sprintf(", as %q", label)
}

// findings collects up to MaxFindings and counts the rest.
type findings struct {
	fs   []scan.Finding
	more int
}

func (f *findings) add(x scan.Finding) {
	if len(f.fs) >= MaxFindings {
		f.more++
		return
	}
	if x.Verdict == scan.Publish {
		x.Verdict, x.Malicious = scan.Reject, true
	}
	f.fs = append(f.fs, x)
}

func (f *findings) list() []scan.Finding {
	if f.more > 0 {
		f.fs = append(f.fs, scan.Finding{Rule: RuleHash, Verdict: scan.Reject, Malicious: true,
			Message: fmt.Sprintf("and %d more matches of the known-bad database", f.more)})
	}
	return f.fs
}

// A search hashes a member while it looks for the snippets in it.
//
// Each snippet is found by an anchor: 4 of its bytes, starting at the
// byte least common in source code, searched for with bytes.Index and
// shared by the snippets with the same anchor; only where an anchor
// occurs are the snippets compared whole. An anchor starting with a rare
// byte ('|', '$', a digit) costs little more than one pass of
// bytes.IndexByte, where the snippet's own first byte ('r' of require)
// would stop the search at every word.
type search struct {
	snips   []meta.MalwareMatch
	anchors []anchor
	buf     []byte
	keep    int // bytes kept from one window to the next: the longest snippet less one
	h       hash.Hash
}

// An anchor is a substring shared by snippets and where it is in each.
type anchor struct {
	text  []byte
	snips []anchored
}

type anchored struct {
	i   int // index in search.snips
	pat []byte
	off int // where the anchor starts in pat
}

// window is the size of the reads.
const window = 64 << 10

// anchorLen is the length of an anchor; snippets are longer.
const anchorLen = 4

// commonness ranks a byte by how often it occurs in source code: 3 for
// lowercase letters, white space and common punctuation, 2 for capitals
// and digits, 1 for the rest.
func commonness(c byte) int {
	switch {
	case c >= 'a' && c <= 'z', c == ' ', c == '\n', c == '\t', strings.IndexByte(".,;:()'\"=_-/", c) >= 0:
		return 3
	case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return 2
	}
	return 1
}

func newSearch(snips []meta.MalwareMatch) *search {
	s := &search{snips: snips, h: sha256.New()}
	byText := map[string]int{}
	for i, sn := range snips {
		pat := []byte(sn.Value)
		s.keep = max(s.keep, len(pat)-1)
		off := 0
		for j := 1; j+anchorLen <= len(pat); j++ {
			if commonness(pat[j]) < commonness(pat[off]) {
				off = j
			}
		}
		n := min(anchorLen, len(pat))
		off = min(off, len(pat)-n)
		key := string(pat[off : off+n])
		k, ok := byText[key]
		if !ok {
			k = len(s.anchors)
			byText[key] = k
			s.anchors = append(s.anchors, anchor{text: []byte(key)})
		}
		s.anchors[k].snips = append(s.anchors[k].snips, anchored{i: i, pat: pat, off: off})
	}
	s.buf = make([]byte, window+s.keep)
	return s
}

// A hit is the first place a snippet occurs in a member.
type hit struct {
	m    meta.MalwareMatch
	line int
}

// search reads r to its end and returns where snippets first occur and its
// sha256.
func (s *search) search(r io.Reader) ([]hit, string, error) {
	s.h.Reset()
	var hits []hit
	found := make([]bool, len(s.snips))
	left := len(s.snips)
	lines := 1 // at the start of buf
	n := 0     // bytes in buf
	for {
		m, err := io.ReadFull(r, s.buf[n:])
		if m > 0 {
			s.h.Write(s.buf[n : n+m])
		}
		n += m
		for _, a := range s.anchors {
			if left == 0 {
				break
			}
			for from := 0; from < n; {
				at := bytes.Index(s.buf[from:n], a.text)
				if at < 0 {
					break
				}
				at += from
				for _, x := range a.snips {
					start := at - x.off
					if found[x.i] || start < 0 || start+len(x.pat) > n || !bytes.Equal(s.buf[start:start+len(x.pat)], x.pat) {
						continue
					}
					found[x.i] = true
					left--
					hits = append(hits, hit{s.snips[x.i], lines + bytes.Count(s.buf[:start], []byte{'\n'})})
				}
				from = at + 1
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return hits, hex.EncodeToString(s.h.Sum(nil)), nil
		}
		if err != nil {
			return nil, "", err
		}
		drop := n - s.keep
		lines += bytes.Count(s.buf[:drop], []byte{'\n'})
		n = copy(s.buf, s.buf[drop:n])
	}
}
