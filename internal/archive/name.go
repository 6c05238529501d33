package archive

import (
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// CheckName reports whether name is a plain relative path that every
// extractor writes to the same place inside its directory: non-empty, valid
// UTF-8, at most maxLen bytes, slash-separated components of at most 255
// bytes, none of them "", "." or "..", and no leading "/", drive letter,
// backslash or control character. A trailing "/" (a directory) is allowed.
// The error wraps trove.ErrInvalid and names the entry.
func CheckName(name string, maxLen int) error {
	bad := func(why string) error { return invalid("entry %q: %s", clip(name), why) }
	switch {
	case name == "":
		return invalid("an entry has an empty name")
	case len(name) > maxLen:
		return bad("the name is longer than " + strconv.Itoa(maxLen) + " bytes")
	case !utf8.ValidString(name):
		return bad("the name is not UTF-8")
	case strings.HasPrefix(name, "/"):
		return bad("absolute path")
	case len(name) >= 2 && name[1] == ':' && isLetter(name[0]):
		return bad("absolute path (a drive letter)")
	case strings.ContainsRune(name, '\\'):
		return bad("backslash in the name (a path separator on Windows)")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("control character in the name")
	}
	for c := range strings.SplitSeq(strings.TrimSuffix(name, "/"), "/") {
		switch {
		case c == "..":
			return invalid("entry %q contains \"..\": path traversal out of the archive's directory", clip(name))
		case c == "" || c == ".":
			return bad(`empty or "." path element`)
		case len(c) > maxComponent:
			return bad("a path element is longer than " + strconv.Itoa(maxComponent) + " bytes")
		}
	}
	return nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// escapes reports whether a link target, read from the directory of the
// link named name, points outside the archive.
func escapes(name, target string) bool {
	if target == "" || strings.HasPrefix(target, "/") || strings.ContainsRune(target, '\\') {
		return true
	}
	p := path.Clean(path.Join(path.Dir(name), target))
	return p == ".." || strings.HasPrefix(p, "../")
}

// A nameSet finds entries whose names clash where they are extracted.
type nameSet struct {
	fold  cases.Caser
	names map[string]seenName // by folded key
}

// A seenName is a path an earlier entry occupies.
type seenName struct {
	name     string // as the archive spells it
	dir      bool
	implicit bool // a parent of an entry, with no entry of its own
}

func newNameSet() *nameSet {
	return &nameSet{fold: cases.Fold(), names: make(map[string]seenName)}
}

// key returns the name as macOS and Windows compare names.
func (s *nameSet) key(name string) string {
	return s.fold.String(norm.NFC.String(name))
}

// add records an entry (a checked name without its trailing slash).
func (s *nameSet) add(name string, dir bool) error {
	parts := strings.Split(name, "/")
	key := s.key(name)
	if prev, ok := s.names[key]; ok && !(prev.implicit && dir) {
		switch {
		case prev.implicit:
			return invalid("entry %q is a file, but earlier entries are inside it as a directory", clip(name))
		case prev.name == name:
			return invalid("entry %q appears more than once", clip(name))
		}
		return invalid("entry %q appears more than once: it collides with %q (a case-insensitive file name collision: names are compared after Unicode NFC normalization and case folding, as macOS and Windows do)",
			clip(name), clip(prev.name))
	}
	s.names[key] = seenName{name: name, dir: dir}
	for i := len(parts) - 1; i > 0; i-- {
		parent := strings.Join(parts[:i], "/")
		pk := s.key(parent)
		prev, ok := s.names[pk]
		if ok && !prev.dir {
			return invalid("entry %q is inside %q, which is a file", clip(name), clip(prev.name))
		}
		if ok {
			break // its parents are known
		}
		s.names[pk] = seenName{name: parent, dir: true, implicit: true}
	}
	return nil
}
