package clamd

import (
	"context"
	"fmt"
	"io"

	"github.com/trove-dev/trove/internal/scan"
)

// RuleSignature is the rule of the scanner's findings.
const RuleSignature = "clamav"

// A Scanner sends every file of an upload to clamd.
type Scanner struct {
	c *Client
}

// NewScanner returns a scanner over c.
func NewScanner(c *Client) *Scanner { return &Scanner{c: c} }

// Name implements scan.Scanner.
func (*Scanner) Name() string { return "clamav" }

// Slow says the scanner may take seconds: the pipeline runs it with the
// release quarantined until it answers.
func (*Scanner) Slow() bool { return true }

// Scan implements scan.Scanner: a signature clamd finds in a file rejects
// the upload as malicious. A file clamd could not scan is an error.
func (s *Scanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	var out []scan.Finding
	for _, f := range a.Files {
		sig, err := s.c.Scan(ctx, io.NewSectionReader(f.Content, 0, f.Size))
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", f.Name, err)
		}
		if sig != "" {
			out = append(out, scan.Finding{Rule: RuleSignature, File: f.Name, Verdict: scan.Reject, Malicious: true,
				Message: fmt.Sprintf("ClamAV found %s in it", sig)})
		}
	}
	return out, nil
}
