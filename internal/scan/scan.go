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
	"errors"
	"fmt"
	"io"
	"slices"
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
	Verdict  Verdict  // the strictest verdict of any finding
	Scanners []string // the scanners that ran to the end, in order
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

// A SlowScanner is a Scanner whose work may take longer than an upload
// request should wait (an antivirus daemon): a request waits for it for
// the pipeline's Wait, and a release it did not finish with stays
// quarantined while a background job completes the scan.
type SlowScanner interface {
	Scanner
	Slow() bool
}

func isSlow(s Scanner) bool {
	sl, ok := s.(SlowScanner)
	return ok && sl.Slow()
}

// Default times of a pipeline.
const (
	// DefaultInline bounds the inline scanners' work in a request.
	DefaultInline = 10 * time.Second
	// DefaultWait is how long a request waits for the slow scanners.
	DefaultWait = 2 * time.Second
)

// A Pipeline runs scanners in order: the inline ones, then the slow ones.
type Pipeline struct {
	inline, slow []Scanner
	inlineTime   time.Duration
	wait         time.Duration
}

// NewPipeline returns a pipeline running the scanners in the given order,
// the inline ones first, with the default times. A pipeline with no
// scanners publishes everything.
func NewPipeline(scanners ...Scanner) *Pipeline {
	p := &Pipeline{inlineTime: DefaultInline, wait: DefaultWait}
	for _, s := range scanners {
		if isSlow(s) {
			p.slow = append(p.slow, s)
		} else {
			p.inline = append(p.inline, s)
		}
	}
	return p
}

// SetTimes sets how long a request's inline scan may take and how long it
// waits for the slow scanners (0 keeps a time).
func (p *Pipeline) SetTimes(inline, wait time.Duration) {
	if inline > 0 {
		p.inlineTime = inline
	}
	if wait > 0 {
		p.wait = wait
	}
}

// Names returns the names of the scanners, in the order they run.
func (p *Pipeline) Names() []string {
	var names []string
	for _, s := range append(slices.Clip(p.inline), p.slow...) {
		names = append(names, s.Name())
	}
	return names
}

// Scan runs every scanner to the end and combines their findings (the
// background scan of a pending release). It stops at the first scanner
// error.
func (p *Pipeline) Scan(ctx context.Context, a *Artifact) (Report, error) {
	var r Report
	if err := run(ctx, a, p.inline, &r); err != nil {
		return Report{}, err
	}
	if err := run(ctx, a, p.slow, &r); err != nil {
		return Report{}, err
	}
	return r, nil
}

// ScanUpload runs the pipeline for a request: the inline scanners within
// the pipeline's inline time, then (unless they reject) the slow ones
// within its wait. Pending says that a scanner did not finish in time:
// the report has what the others found, and the release must stay
// quarantined until Scan has run to the end. Other scanner errors are
// returned.
func (p *Pipeline) ScanUpload(ctx context.Context, a *Artifact) (r Report, pending bool, err error) {
	timed := func(d time.Duration, ss []Scanner) (bool, error) {
		tctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		err := run(tctx, a, ss, &r)
		if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
			return true, nil
		}
		return false, err
	}
	if pending, err = timed(p.inlineTime, p.inline); err != nil || pending || r.Verdict == Reject || len(p.slow) == 0 {
		return r, pending, err
	}
	pending, err = timed(p.wait, p.slow)
	return r, pending, err
}

// run runs scanners in order, adding their findings to r.
func run(ctx context.Context, a *Artifact, scanners []Scanner, r *Report) error {
	for _, s := range scanners {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("scanner %s: %w", s.Name(), err)
		}
		fs, err := s.Scan(ctx, a)
		if err != nil {
			return fmt.Errorf("scanner %s: %w", s.Name(), err)
		}
		for _, f := range fs {
			if f.Scanner == "" {
				f.Scanner = s.Name()
			}
			r.Findings = append(r.Findings, f)
			r.Verdict = max(r.Verdict, f.Verdict)
		}
		r.Scanners = append(r.Scanners, s.Name())
	}
	return nil
}
