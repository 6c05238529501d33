// Package scan runs the checks every upload passes before it becomes
// visible: an ordered list of Scanners, each reading the quarantined
// artifact and reporting Findings, combined into one Report whose Verdict
// decides whether the release is published, held for review or rejected.
//
// Scan results are values, not errors: a Scanner returns an error only when
// it could not do its work (the release then stays unpublished), never to
// say that an artifact is bad.
package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// A Verdict is what should happen to a release. Larger is stricter.
type Verdict int

// The verdicts.
const (
	Publish Verdict = iota // nothing stands in the way
	Hold                   // keep quarantined until a person reviews it
	Reject                 // refuse the upload
)

func (v Verdict) String() string {
	switch v {
	case Publish:
		return "publish"
	case Hold:
		return "hold"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// An Artifact is a quarantined upload as scanners see it.
type Artifact struct {
	Ecosystem string
	Name      string
	Version   string
	Metadata  json.RawMessage // the adapter's release metadata
	Files     []File
	// Previous is the package's release this one follows, for scanners
	// that compare the two (the latest published release; nil for a
	// package's first release). Its Previous and Publisher are nil, and
	// its Dependencies have names only.
	Previous *Artifact
	// Dependencies are the packages of the ecosystem the release depends
	// on (normalized names), with what the registry knows of those the
	// previous release did not depend on.
	Dependencies []Dependency
	// Publisher is who uploads the release; nil for a release imported
	// from an upstream registry.
	Publisher *Publisher
}

// A Dependency is a package a release depends on.
type Dependency struct {
	Name string
	// Age is how long the package has existed in this registry; 0 when
	// not known (not looked up, not local, or a package of an upstream
	// registry, whose age there is not known).
	Age time.Duration
	// Missing reports that no registry Trove can see has the package: not
	// this one, and not the upstream registries, which must be configured
	// for a name to be missing.
	Missing bool
}

// A Publisher is the user who uploads a release.
type Publisher struct {
	Name string
	// FirstRelease reports that they never published a release of the
	// package before.
	FirstRelease bool
	// RoleAge is how long they have held a role on the package (as a
	// user, an organisation member or in a team); 0 for none (an
	// administrator).
	RoleAge time.Duration
}

// A File is one file of an artifact; its bytes are readable at random.
type File struct {
	Name    string
	Size    int64
	Content io.ReaderAt
}

// A Finding is one thing a scanner noticed.
type Finding struct {
	Scanner string
	Rule    string
	File    string // the file it is about, if any: an artifact or one of its archive's members
	Line    int    // the 1-based line in File, if known
	Message string // for the publisher; never contains a secret in full
	Verdict Verdict
	// Malicious says the finding establishes that the artifact is
	// malicious (a known-bad hash or record, an antivirus signature), not
	// merely suspicious: an upstream version with such a finding is marked
	// malicious in curation, so that it is never offered again.
	Malicious bool
}

// A Report is the combined result of a pipeline.
type Report struct {
	Findings []Finding
	Verdict  Verdict // the strictest verdict of any finding
}

// Err returns nil unless the report rejects or holds the artifact, and
// then an error listing the findings that decided it.
func (r Report) Err() error {
	if r.Verdict == Publish {
		return nil
	}
	var msgs []string
	for _, f := range r.Findings {
		if f.Verdict == r.Verdict {
			m := f.Scanner + ": " + f.Message
			switch {
			case f.File != "" && f.Line > 0:
				m = fmt.Sprintf("%s:%d: %s", f.File, f.Line, m)
			case f.File != "":
				m = f.File + ": " + m
			}
			msgs = append(msgs, m)
		}
	}
	return fmt.Errorf("%s: %s", r.Verdict, strings.Join(msgs, "; "))
}

// A Scanner checks artifacts.
type Scanner interface {
	// Name identifies the scanner in findings and logs.
	Name() string
	// Scan returns what it found. An error means the scan could not be
	// done, not that the artifact is bad. Scan must not keep a.
	Scan(ctx context.Context, a *Artifact) ([]Finding, error)
}

// A Pipeline runs scanners in order.
type Pipeline struct {
	scanners []Scanner
}

// NewPipeline returns a pipeline running the scanners in the given order.
// A pipeline with no scanners publishes everything.
func NewPipeline(scanners ...Scanner) *Pipeline {
	return &Pipeline{scanners: scanners}
}

// Scan runs every scanner and combines their findings. It stops at the
// first scanner error.
func (p *Pipeline) Scan(ctx context.Context, a *Artifact) (Report, error) {
	var r Report
	for _, s := range p.scanners {
		fs, err := s.Scan(ctx, a)
		if err != nil {
			return Report{}, fmt.Errorf("scanner %s: %w", s.Name(), err)
		}
		for _, f := range fs {
			if f.Scanner == "" {
				f.Scanner = s.Name()
			}
			r.Findings = append(r.Findings, f)
			r.Verdict = max(r.Verdict, f.Verdict)
		}
	}
	return r, nil
}
