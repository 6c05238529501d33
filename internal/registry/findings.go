package registry

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// Scan findings and their public summary (SCVS-4.17)
//
// The findings of every scan of a release (files and lines, never a
// secret) are for the package's maintainers and owners and for
// administrators, also while it is held. Everyone who may read a published
// release reads its summary: which scanners checked it, when, the verdict
// and how many findings of which rules, without files or lines.

// ScanFindings returns the scans of a release with their findings. Users
// without a maintainer's role on the package get ErrDenied for a visible
// release and ErrNotFound for one they cannot see, as for a release that
// does not exist.
func (s *Service) ScanFindings(ctx context.Context, who *access.Principal, eco trove.Ecosystem, name, version string) ([]*meta.ScanResult, error) {
	ctx = as(ctx, who)
	_, n, key, err := s.parse(eco, name, version)
	if err != nil {
		return nil, err
	}
	notFound := trove.Error(trove.ErrNotFound, "%s %s %s not found", eco, name, version)
	pkg, err := s.db.Package(ctx, eco, n)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	rel, err := s.db.Release(ctx, pkg.ID, key)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	allowed := who != nil && who.Admin
	if !allowed && who != nil {
		role, err := roleOf(ctx, s.db, pkg.ID, who.UserID)
		if err != nil {
			return nil, err
		}
		if role >= access.Maintainer && scopeCovers(who, eco, s.key(eco, n)) {
			if allowed, err = s.mayRead(ctx, pkg); err != nil {
				return nil, err
			}
		}
	}
	if !allowed {
		if !rel.State.Visible() {
			return nil, notFound
		}
		if known, err := s.mayRead(ctx, pkg); err != nil || !known {
			return nil, cmp.Or(err, notFound)
		}
		if who == nil {
			return nil, trove.Error(access.ErrUnauthenticated, "sign in as a maintainer of %s to read its scan findings; the summary is public", name)
		}
		return nil, trove.Error(access.ErrDenied, "only the maintainers and owners of %s and administrators read its scan findings; the summary is public", name)
	}
	return s.db.ScanResults(ctx, rel.ID)
}

// scopeCovers reports whether who's token may act on the package at all.
func scopeCovers(who *access.Principal, eco trove.Ecosystem, key trove.Name) bool {
	for _, a := range []access.Action{access.ReadPrivate, access.Publish, access.Yank, access.Owners} {
		if who.Allows(a, eco, key) {
			return true
		}
	}
	return false
}

// A ScanSummary is the public summary of a published release's scans.
type ScanSummary struct {
	// Scanned says the release was scanned here (releases published before
	// scanning existed were not).
	Scanned  bool
	Scanners []string  // every scanner that checked some of its files
	At       time.Time // the last scan
	// Verdict is the strictest verdict of its scans: "hold" for a release
	// an administrator released after a hold.
	Verdict string
	// Rules counts the findings by scanner and rule ("malware/install-download").
	Rules map[string]int
	// Findings counts every finding.
	Findings int
}

// ScanSummary returns the public summary of a visible release's scans;
// ErrNotFound for a release the caller cannot read.
func (s *Service) ScanSummary(ctx context.Context, eco trove.Ecosystem, name, version string) (*ScanSummary, error) {
	_, n, key, err := s.parse(eco, name, version)
	if err != nil {
		return nil, err
	}
	pkg, err := s.visiblePackage(ctx, eco, n, name, false)
	if err != nil {
		return nil, err
	}
	rel, err := s.db.Release(ctx, pkg.ID, key)
	if errors.Is(err, meta.ErrNotFound) || err == nil && !rel.State.Visible() {
		return nil, trove.Error(trove.ErrNotFound, "%s %s %s not found", eco, name, version)
	} else if err != nil {
		return nil, err
	}
	scans, err := s.db.ScanResults(ctx, rel.ID)
	if err != nil {
		return nil, err
	}
	sum := &ScanSummary{Verdict: scan.Publish.String(), Rules: map[string]int{}}
	strictest := scan.Publish
	for _, r := range scans {
		sum.Scanned, sum.At = true, r.At
		for _, name := range r.Scanners {
			if !slices.Contains(sum.Scanners, name) {
				sum.Scanners = append(sum.Scanners, name)
			}
		}
		if v := verdictOf(r.Verdict); v > strictest {
			strictest = v
		}
		for _, f := range r.Findings {
			sum.Findings++
			sum.Rules[f.Scanner+"/"+f.Rule]++
		}
	}
	sum.Verdict = strictest.String()
	return sum, nil
}

func verdictOf(s string) scan.Verdict {
	for _, v := range []scan.Verdict{scan.Reject, scan.Hold} {
		if s == v.String() {
			return v
		}
	}
	return scan.Publish
}
