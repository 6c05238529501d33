package translog

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// An Event is one public state change, the content of one log record.
//
// # Record format
//
// A record is UTF-8 text of lines ending in "\n", with no empty line and
// no control character (so that it is also a valid go.sum database record):
//
//	trove-event 1
//	<kind> <ecosystem> <name> [<version>]
//	time <RFC 3339 UTC, seconds>
//	salt <64 hex>                          (private packages' records: a random
//	                                        value that makes the record unguessable)
//	source <upstream> <url>                (proxy: where the files came from)
//	file <filename> sha256:<64 hex>        (publish; one line per file)
//	tag <tag> <version>                    (tag: a dist-tag now points at version)
//	untag <tag>                            (tag: a dist-tag was removed)
//	reason <Go-quoted string>              (yank, delete, takedown)
//	message <Go-quoted string>             (deprecate; "" undeprecates)
//	owner add|remove <user name>           (owner)
//	<name> <word>…                         (publish: lines the ecosystem adds;
//	                                        for a Go module its go.sum lines:
//	                                        <module> <version> h1:<hash> and
//	                                        <module> <version>/go.mod h1:<hash>)
//
// Kinds: publish, proxy (files fetched from an upstream registry and
// verified, recorded like a publish with their source), except (an
// administrator's upstream exception for a name: message "local",
// "upstream" or "" when removed), yank, unyank, deprecate, delete, tag, owner (a
// package's first owners are logged with its first release), and any
// later kind (trusted-publisher, takedown) written the same way. Names and
// versions never contain spaces in any ecosystem; free text is quoted.
// Private data (email addresses, tokens, IP addresses, private package
// names) never enters a record.
type Event struct {
	Kind      string
	Ecosystem string
	Name      string
	Version   string
	Time      time.Time
	// Salt is set on the records of private packages: 32 random bytes as
	// 64 lowercase hex digits (NewSalt). Such a record is served only to
	// those who may read the package; everyone else gets its leaf hash,
	// which the salt makes a commitment nobody can confirm by guessing
	// the text (docs/transparency-log.md, Private packages).
	Salt     string
	Upstream *Upstream // proxy: the upstream the files came from
	Files    []FileDigest
	Tags     []TagChange
	Reason   *string
	Message  *string
	Owners   []OwnerChange
	// Lines are ecosystem-specific lines, without "\n": words separated
	// by single spaces, the first being the package name (Go: go.sum lines).
	Lines []string
}

// A FileDigest is a file of a published release.
type FileDigest struct {
	Name   string
	SHA256 string // lowercase hex
}

// An Upstream is the upstream registry of a proxy record: the operator's
// name for it and the URL the first file was fetched from.
type Upstream struct {
	Name string
	URL  string
}

// A TagChange moves (Version != "") or removes (Version == "") a dist-tag.
type TagChange struct {
	Tag     string
	Version string
}

// An OwnerChange adds or removes an owner.
type OwnerChange struct {
	Add  bool
	User string
}

const header = "trove-event 1"

// MaxRecordSize bounds a record's text; it is the largest entry a C2SP
// entry bundle can hold.
const MaxRecordSize = 0xffff

var errField = errors.New("field contains a space, control character or invalid UTF-8, or is empty")

// word checks a field written bare on a line.
func word(s string) error {
	if s == "" || !utf8.ValidString(s) {
		return errField
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return errField
		}
	}
	return nil
}

// checkLine checks an ecosystem line: the package name, then one or more
// words, separated by single spaces.
func checkLine(l, name string) error {
	f := strings.Split(l, " ")
	if len(f) < 2 || f[0] != name {
		return fmt.Errorf("%q is not \"%s <word>…\"", l, name)
	}
	for _, w := range f[1:] {
		if err := word(w); err != nil {
			return fmt.Errorf("%q: %w", l, err)
		}
	}
	return nil
}

// Format returns the record text of e.
func (e *Event) Format() ([]byte, error) {
	var b bytes.Buffer
	fail := func(what string, err error) ([]byte, error) {
		return nil, fmt.Errorf("formatting %s event: %s: %w", e.Kind, what, err)
	}
	for what, v := range map[string]string{"kind": e.Kind, "ecosystem": e.Ecosystem, "name": e.Name} {
		if err := word(v); err != nil {
			return fail(what, err)
		}
	}
	b.WriteString(header + "\n")
	b.WriteString(e.Kind + " " + e.Ecosystem + " " + e.Name)
	if e.Version != "" {
		if err := word(e.Version); err != nil {
			return fail("version", err)
		}
		b.WriteString(" " + e.Version)
	}
	b.WriteString("\n")
	if e.Time.IsZero() {
		return fail("time", errors.New("missing"))
	}
	b.WriteString("time " + e.Time.UTC().Truncate(time.Second).Format(time.RFC3339) + "\n")
	if e.Salt != "" {
		if !isHex64(e.Salt) {
			return fail("salt", errors.New("not 64 lowercase hex digits"))
		}
		b.WriteString("salt " + e.Salt + "\n")
	}
	if e.Upstream != nil {
		if err := word(e.Upstream.Name); err != nil {
			return fail("source name", err)
		}
		if err := word(e.Upstream.URL); err != nil {
			return fail("source url", err)
		}
		b.WriteString("source " + e.Upstream.Name + " " + e.Upstream.URL + "\n")
	}
	for _, f := range e.Files {
		if err := word(f.Name); err != nil {
			return fail("file name", err)
		}
		if !isHex64(f.SHA256) {
			return fail("file sha256", errors.New("not 64 lowercase hex digits"))
		}
		b.WriteString("file " + f.Name + " sha256:" + f.SHA256 + "\n")
	}
	for _, t := range e.Tags {
		if err := word(t.Tag); err != nil {
			return fail("tag", err)
		}
		if t.Version == "" {
			b.WriteString("untag " + t.Tag + "\n")
			continue
		}
		if err := word(t.Version); err != nil {
			return fail("tag version", err)
		}
		b.WriteString("tag " + t.Tag + " " + t.Version + "\n")
	}
	if e.Reason != nil {
		b.WriteString("reason " + strconv.QuoteToASCII(*e.Reason) + "\n")
	}
	if e.Message != nil {
		b.WriteString("message " + strconv.QuoteToASCII(*e.Message) + "\n")
	}
	for _, o := range e.Owners {
		if err := word(o.User); err != nil {
			return fail("owner", err)
		}
		op := "remove"
		if o.Add {
			op = "add"
		}
		b.WriteString("owner " + op + " " + o.User + "\n")
	}
	for _, l := range e.Lines {
		if err := checkLine(l, e.Name); err != nil {
			return fail("line", err)
		}
		b.WriteString(l + "\n")
	}
	if b.Len() > MaxRecordSize {
		return fail("record", fmt.Errorf("longer than %d bytes", MaxRecordSize))
	}
	return b.Bytes(), nil
}

// ParseEvent parses a record text. It accepts exactly what Format writes.
func ParseEvent(text []byte) (*Event, error) {
	if len(text) > MaxRecordSize {
		return nil, fmt.Errorf("parsing event: longer than %d bytes", MaxRecordSize)
	}
	if !utf8.Valid(text) || !bytes.HasSuffix(text, []byte("\n")) {
		return nil, errors.New("parsing event: not UTF-8 text ending in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if len(lines) < 3 || lines[0] != header {
		return nil, fmt.Errorf("parsing event: does not start with %q and two lines", header)
	}
	bad := func(i int, why string) (*Event, error) {
		return nil, fmt.Errorf("parsing event: line %d %q: %s", i+1, lines[i], why)
	}
	e := &Event{}
	f := strings.Split(lines[1], " ")
	if len(f) < 3 || len(f) > 4 {
		return bad(1, "want <kind> <ecosystem> <name> [<version>]")
	}
	e.Kind, e.Ecosystem, e.Name = f[0], f[1], f[2]
	if len(f) == 4 {
		e.Version = f[3]
	}
	ts, ok := strings.CutPrefix(lines[2], "time ")
	if !ok {
		return bad(2, "want time <RFC 3339>")
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return bad(2, err.Error())
	}
	e.Time = t
	first := 3
	if len(lines) > 3 {
		if salt, ok := strings.CutPrefix(lines[3], "salt "); ok && isHex64(salt) {
			e.Salt, first = salt, 4
		}
	}
	for i := first; i < len(lines); i++ {
		l := lines[i]
		key, rest, _ := strings.Cut(l, " ")
		switch key {
		case "source":
			name, u, ok := strings.Cut(rest, " ")
			if !ok {
				return bad(i, "want source <upstream> <url>")
			}
			e.Upstream = &Upstream{Name: name, URL: u}
		case "file":
			name, sum, ok := strings.Cut(rest, " sha256:")
			if !ok {
				return bad(i, "want file <name> sha256:<hex>")
			}
			e.Files = append(e.Files, FileDigest{Name: name, SHA256: sum})
		case "tag":
			tag, v, ok := strings.Cut(rest, " ")
			if !ok {
				return bad(i, "want tag <tag> <version>")
			}
			e.Tags = append(e.Tags, TagChange{Tag: tag, Version: v})
		case "untag":
			e.Tags = append(e.Tags, TagChange{Tag: rest})
		case "reason", "message":
			s, err := strconv.Unquote(rest)
			if err != nil {
				return bad(i, "want a Go-quoted string")
			}
			if key == "reason" {
				e.Reason = &s
			} else {
				e.Message = &s
			}
		case "owner":
			op, user, ok := strings.Cut(rest, " ")
			if !ok || op != "add" && op != "remove" {
				return bad(i, "want owner add|remove <user>")
			}
			e.Owners = append(e.Owners, OwnerChange{Add: op == "add", User: user})
		default:
			e.Lines = append(e.Lines, l)
		}
	}
	// What Format refuses, Parse refuses: the round trip is exact.
	again, err := e.Format()
	if err != nil {
		return nil, fmt.Errorf("parsing event: %w", err)
	}
	if !bytes.Equal(again, text) {
		return nil, errors.New("parsing event: not in canonical form")
	}
	return e, nil
}

// isHex64 reports whether s is 64 lowercase hex digits (a SHA-256, a salt).
func isHex64(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// NewSalt returns a fresh salt for a private package's record.
func NewSalt() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// HasFile reports whether the event lists a file with the name and digest.
func (e *Event) HasFile(name, sha256 string) bool {
	return slices.Contains(e.Files, FileDigest{Name: name, SHA256: sha256})
}
