// Package lockfile is the shape in which trove verify reads the files
// where clients pin their dependencies by digest. Each ecosystem's package
// reads its own lockfiles (npm's package-lock.json, pip's requirements.txt
// in hash-checking mode, Go's go.sum) into a Report through a Format: the
// packages they pin and what they pin of each (file digests, a file to
// download and its digest, the lines of a publish record). Readers take
// untrusted bytes, never fetch anything, and are fuzzed.
package lockfile

import (
	"fmt"
	"strings"
)

// MaxSize bounds the lockfiles a Format reads.
const MaxSize = 64 << 20

// A Format reads one kind of lockfile.
type Format interface {
	// Name is the format's name, as trove verify --format takes it.
	Name() string
	// Match reports whether a file of this base name is of the format.
	Match(base string) bool
	// Read parses a lockfile of at most MaxSize bytes. registry is the base
	// URL of the registry being verified: entries resolved from elsewhere
	// are noted, not verified. An error means nothing can be verified.
	Read(data []byte, registry string) (*Report, error)
}

// A Report is what a lockfile pins.
type Report struct {
	Pins []Pin
	// Notes are entries left unverified, and why (a link, a workspace).
	Notes []string
	// Fails are entries that cannot be verified as written.
	Fails []Failure
	// Hint says how to fix the failures.
	Hint string
}

// A Failure is one or more entries that cannot be verified as written.
type Failure struct {
	Summary string
	Details []string // one line each
	Count   int      // entries it stands for (at least 1)
}

// A Pin is a package version a lockfile pins, and what it pins of it.
// Every file digest must be a file the log records for the version, and
// every line a line of its publish record.
type Pin struct {
	Ecosystem     string
	Name, Version string
	// Files are SHA-256 digests (hex) of files, each with where the
	// lockfile says it ("--hash on line 3").
	Files []Digest
	// Lines are publish record lines ("go.sum lines": LinesWhat).
	Lines     []Line
	LinesWhat string
	// Download, when not "", is the URL of a file to fetch: its SHA-512
	// (standard base64) must be SHA512, and its SHA-256 a logged file.
	Download, SHA512 string
}

// A Digest is a file digest a lockfile pins, and where.
type Digest struct{ SHA256, Where string }

// A Line is a line a lockfile pins, and where.
type Line struct{ Text, Where string }

// String is the pin as trove verify names it: "npm left-pad 1.3.0".
func (p Pin) String() string { return p.Ecosystem + " " + p.Name + " " + p.Version }

// Detect returns the format of the formats that matches a base name.
func Detect(formats []Format, base string) (Format, error) {
	var names []string
	for _, f := range formats {
		if f.Match(base) {
			return f, nil
		}
		names = append(names, f.Name())
	}
	return nil, fmt.Errorf("cannot tell the format of %q by its name (known formats: %s)", base, strings.Join(names, ", "))
}

// ByName returns the format of the formats with the name.
func ByName(formats []Format, name string) (Format, error) {
	var names []string
	for _, f := range formats {
		if f.Name() == name {
			return f, nil
		}
		names = append(names, f.Name())
	}
	return nil, fmt.Errorf("unknown lockfile format %q (want one of %s)", name, strings.Join(names, ", "))
}

// A HintedError is an error with advice for the person.
type HintedError struct {
	Err  error
	Hint string
}

func (e *HintedError) Error() string { return e.Err.Error() }
func (e *HintedError) Unwrap() error { return e.Err }
