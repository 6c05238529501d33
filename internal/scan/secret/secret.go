// Package secret holds the upload scanners that find credentials: [Leaks]
// finds other services' (cloud keys, private keys, provider tokens; see
// leaks.go), and [Scanner] Trove API tokens in
// what is published: every member of an npm tarball, a wheel, an sdist
// (.tar.gz or .zip) or a Go module zip, and any other file of an upload
// (a Go module's go.mod) as it is. An upload holding a string with a
// token's form and checksum (access.CheckToken) is rejected, whether or
// not the token is live, and a live token is revoked at once through the
// [Revoker], which also tells its owner where it was found (see
// docs/scanning.md).
//
// # Search
//
// The search is literal: members are read in 64 KiB pieces and searched
// for access.TokenPrefix with bytes.Index; only where the prefix occurs
// are the 49 characters after it read and their checksum checked, so a
// near miss (the prefix alone, a placeholder, a wrong checksum) is not a
// finding and ordinary text costs a byte comparison per byte. Lines are
// counted only up to the hits. Binary members (a NUL byte in their first
// 8,000 bytes) are searched too — .pyc files, native addons and
// compiled programs keep string constants as they are — and located by
// byte offset instead of line.
//
// # Limits
//
// Archives are read with archive.DefaultLimits, the limits the adapters
// already applied at upload, so a scan reads no more than the upload's
// own checks did; memory is one 64 KiB buffer. Archives inside archives
// are not opened: their members are compressed, and only what they
// store uncompressed is searched. An archive that cannot be read within
// the limits rejects the upload (a finding, not a scanner error). At most
// [MaxFindings] locations are listed in the findings, and at most
// [MaxTokens] distinct tokens are looked up and revoked per upload; an
// upload with more is rejected all the same.
package secret

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// Limits on what one scan reports and revokes.
const (
	// MaxFindings bounds the locations listed in the findings; one more
	// finding counts the others.
	MaxFindings = 20
	// MaxTokens bounds the distinct tokens passed to the Revoker per
	// upload.
	MaxTokens = 1000
)

// The rule name of the findings.
const RuleTroveToken = "trove-token"

// A Location is where in an upload a token was found.
type Location struct {
	Ecosystem, Name, Version string
	// Artifact is the uploaded file (demo-1.0.0.tgz).
	Artifact string
	// File is the archive member (package/lib/config.js), or Artifact
	// itself for a file that is not an archive.
	File string
	// Line is the 1-based line in a text file; 0 in a binary one, which
	// Offset locates.
	Line   int
	Offset int64
}

// String returns file:line, or "file (byte N)" for a binary file.
func (l Location) String() string {
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	return fmt.Sprintf("%s (binary, at byte %d)", l.File, l.Offset)
}

// A Revoker revokes tokens found in uploads. It is implemented over the
// registry's token store, which the scanner has no access to.
type Revoker interface {
	// Revoke revokes the token whose secret was found at, if it is live,
	// tells its owner where it was found, and reports whether it did. A
	// malformed, unknown, revoked or expired token changes nothing. The
	// revocation commits on its own, before Revoke returns and even if
	// ctx is canceled: it must hold though the upload it was found in is
	// discarded. An error means the revocation could not be done. Revoke
	// may be called concurrently.
	Revoke(ctx context.Context, secret string, at Location) (bool, error)
}

// A Scanner finds Trove tokens in uploads; see the package documentation.
type Scanner struct {
	rev Revoker
}

// New returns a scanner that revokes live tokens through rev.
func New(rev Revoker) *Scanner {
	return &Scanner{rev: rev}
}

// Name implements scan.Scanner.
func (*Scanner) Name() string { return "secrets" }

// A scanState is what one scan has found.
type scanState struct {
	tokens   map[string]bool // found: whether it was live (revoked now)
	findings []scan.Finding
	more     int // locations beyond MaxFindings, tokens beyond MaxTokens
}

// Scan implements scan.Scanner.
func (sc *Scanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	st := &scanState{tokens: make(map[string]bool)}
	s := newSearcher()
	for _, f := range a.Files {
		loc := Location{Ecosystem: a.Ecosystem, Name: a.Name, Version: a.Version, Artifact: f.Name}
		err := scan.Walk(ctx, f, func(member string, r io.Reader) error {
			loc.File = member
			return s.search(r, func(h hit) error {
				l := loc
				l.Line, l.Offset = h.line, h.offset
				return st.add(ctx, sc.rev, h.token, l)
			})
		})
		var re revokeError
		switch {
		case errors.As(err, &re):
			return nil, re.err
		case errors.Is(err, trove.ErrInvalid) || errors.Is(err, trove.ErrTooLarge):
			st.findings = append(st.findings, scan.Finding{Rule: "unreadable", File: f.Name, Verdict: scan.Reject,
				Message: fmt.Sprintf("%s could not be searched for secrets: %v", f.Name, err)})
		case err != nil:
			return nil, fmt.Errorf("searching %s: %w", f.Name, err)
		}
	}
	if st.more > 0 {
		st.findings = append(st.findings, scan.Finding{Rule: RuleTroveToken, Verdict: scan.Reject,
			Message: fmt.Sprintf("and %d more places holding Trove API tokens", st.more)})
	}
	return st.findings, nil
}

// A revokeError is the Revoker's failure, carried out of an archive walk
// so that it is not taken for the archive's (which would wrap a category).
type revokeError struct{ err error }

func (e revokeError) Error() string { return e.err.Error() }

// add records a token found at loc: revoked (once) if live, and a
// finding unless MaxFindings were listed.
func (st *scanState) add(ctx context.Context, rev Revoker, tok string, loc Location) error {
	live, seen := st.tokens[tok]
	if !seen {
		if len(st.tokens) >= MaxTokens {
			st.more++
			return nil
		}
		var err error
		if live, err = rev.Revoke(ctx, tok, loc); err != nil {
			return revokeError{fmt.Errorf("revoking a token found at %s: %w", loc, err)}
		}
		st.tokens[tok] = live
	}
	if len(st.findings) >= MaxFindings {
		st.more++
		return nil
	}
	st.findings = append(st.findings, scan.Finding{Rule: RuleTroveToken, File: loc.File, Line: loc.Line, Verdict: scan.Reject,
		Message: describe(tok, live, seen, loc)})
	return nil
}

// describe says what was found without the secret: its prefix and first
// four characters, enough for the owner to recognise it among their own;
// in a binary file, where (a finding's line says where in a text file).
func describe(tok string, live, again bool, loc Location) string {
	shown := tok[:len(access.TokenPrefix)+4] + "..." // ASCII: twine shows the message in a reason phrase
	if loc.Line == 0 {
		shown += fmt.Sprintf(" at byte %d of this binary file", loc.Offset)
	}
	switch {
	case again:
		return fmt.Sprintf("a Trove API token (%s, found above too)", shown)
	case live:
		return fmt.Sprintf("a live Trove API token of this registry (%s): it is revoked now and its owner has been emailed; "+
			"remove it from the package and create a new token", shown)
	}
	return fmt.Sprintf("a Trove API token (%s) that is not live here (unknown, revoked or expired); "+
		"credentials do not belong in packages: remove it", shown)
}
