package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Private records
//
// A record about a private package carries a salt (Event.Salt, the line
// "salt <64 hex>" right after "time"). The database keeps its full text
// and the tree's leaf is tlog.RecordHash of that text, as for every
// record; the salt makes the leaf a commitment that nobody can confirm by
// guessing the package's name, version or digests.
//
// Wherever record texts are served to anyone (entry bundles, the Go
// checksum database's data tiles), a private record is replaced by its
// placeholder, whatever the request's credentials, since tiles are
// cached forever:
//
//	trove-private 1
//	leaf <the record's leaf hash, 32 bytes in standard base64>
//
// A verifier takes the leaf of a placeholder as given and the leaf of
// any other text as its tlog.RecordHash (LeafHash): the tree still
// verifies from redacted bundles, and anyone later given the full text
// (a lookup by someone who may read the package, or the package made
// public) checks it against the same leaf.

// PlaceholderHeader is the first line of a private record's placeholder.
const PlaceholderHeader = "trove-private 1"

// placeholderLen is the length of every placeholder: the header, "leaf ",
// 44 base64 characters and two newlines.
const placeholderLen = len(PlaceholderHeader) + 1 + len("leaf ") + 44 + 1

// IsPrivate reports whether text is the full text of a private record:
// a record whose fourth line is its salt, as Format writes it.
func IsPrivate(text []byte) bool {
	rest, ok := bytes.CutPrefix(text, []byte(header+"\n"))
	if !ok {
		return false
	}
	for range 2 { // the kind line and the time line
		_, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return false
		}
		rest = after
	}
	line, _, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return false
	}
	salt, ok := strings.CutPrefix(string(line), "salt ")
	return ok && isHex64(salt)
}

// Placeholder returns the placeholder of a private record whose leaf
// hash is leaf.
func Placeholder(leaf tlog.Hash) []byte {
	return []byte(PlaceholderHeader + "\nleaf " + base64.StdEncoding.EncodeToString(leaf[:]) + "\n")
}

// Redact returns what is served publicly for a record: the placeholder
// of a private record (IsPrivate), any other record unchanged.
func Redact(text []byte) []byte {
	if !IsPrivate(text) {
		return text
	}
	return Placeholder(tlog.RecordHash(text))
}

// RedactAll redacts each record of recs, in a new slice.
func RedactAll(recs [][]byte) [][]byte {
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = Redact(r)
	}
	return out
}

// IsPlaceholder reports whether text is a placeholder (well formed or
// not): it starts with PlaceholderHeader's line. No record does.
func IsPlaceholder(text []byte) bool {
	return bytes.HasPrefix(text, []byte(PlaceholderHeader+"\n"))
}

// ParsePlaceholder returns the leaf hash a placeholder gives. It accepts
// exactly what Placeholder writes.
func ParsePlaceholder(text []byte) (tlog.Hash, error) {
	bad := errors.New("malformed private record placeholder: want \"" + PlaceholderHeader + "\\nleaf <base64 hash>\\n\"")
	if len(text) != placeholderLen || !IsPlaceholder(text) || !bytes.HasSuffix(text, []byte("\n")) {
		return tlog.Hash{}, bad
	}
	b64, ok := bytes.CutPrefix(text[len(PlaceholderHeader)+1:len(text)-1], []byte("leaf "))
	if !ok {
		return tlog.Hash{}, bad
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(string(b64))
	if err != nil || len(raw) != tlog.HashSize {
		return tlog.Hash{}, bad
	}
	h := tlog.Hash(raw)
	if !bytes.Equal(Placeholder(h), text) {
		return tlog.Hash{}, bad
	}
	return h, nil
}

// LeafHash returns the leaf hash of a record as served: the hash a
// placeholder gives, or the tlog.RecordHash of any other text.
func LeafHash(text []byte) (tlog.Hash, error) {
	if IsPlaceholder(text) {
		return ParsePlaceholder(text)
	}
	return tlog.RecordHash(text), nil
}
