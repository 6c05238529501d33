package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// Scans
//
// Every upload and every upstream import passes the scan pipeline while
// quarantined (scanQuarantined). The inline scanners run within the
// request; slow ones (an antivirus daemon) get a short wait, and a release
// they did not finish with is held as pending (meta.HoldPending, with the
// worm guard applied as to any publish): the client is told that it is
// held until the scanners finish. The scan job then runs the whole
// pipeline again on the stored files and decides: publish (as the upload
// would have been), hold for an administrator (owners mailed), or reject
// (discarded, owners mailed). Each scan's findings are stored with the
// release (scan_results) for its owners; its summary is public once the
// release is.

// Limits of the scan job.
const (
	// ScanJobEvery is how often the scan job looks for pending scans.
	ScanJobEvery = 10 * time.Second
	// maxPendingPerRun bounds the pending scans one run decides.
	maxPendingPerRun = 50
	// pendingScanTimeout bounds one background scan.
	pendingScanTimeout = 5 * time.Minute
	// PendingGiveUp is how long a scan that keeps failing stays pending:
	// then it is held for an administrator, saying why.
	PendingGiveUp = time.Hour
	// maxStoredFindings bounds the findings stored per scan; the verdict
	// counts them all.
	maxStoredFindings = 100
)

// OnMalicious sets what is done with an upstream version a scanner found
// malicious (a known-bad record or hash, an antivirus signature): the
// server marks it malicious in curation, so that it is never offered
// again. It must be set before the first import.
func (s *Service) OnMalicious(fn func(ctx context.Context, eco trove.Ecosystem, name trove.Name, version, why string) error) {
	s.mu.Lock()
	s.malicious = fn
	s.mu.Unlock()
}

// feedMalicious passes a rejected import's malicious findings to the hook.
func (s *Service) feedMalicious(ctx context.Context, res *Result, r scan.Report) {
	s.mu.Lock()
	fn := s.malicious
	s.mu.Unlock()
	if fn == nil {
		return
	}
	for _, f := range r.Findings {
		if !f.Malicious {
			continue
		}
		why := f.Scanner + ": " + f.Message
		if err := fn(ctx, res.Package.Ecosystem, res.Package.Name, res.Release.Version, why); err != nil {
			log().Error("marking a malicious upstream version", "ecosystem", res.Package.Ecosystem, "package", res.Package.Name,
				"version", res.Release.Version, "err", err)
		}
		return
	}
}

// saveScan stores a scan of res's files.
func saveScan(ctx context.Context, tx *meta.Tx, res *Result, r scan.Report, at time.Time) error {
	sr := &meta.ScanResult{ReleaseID: res.Release.ID, Scanners: r.Scanners, Verdict: r.Verdict.String(), At: at}
	for _, f := range res.Files {
		sr.Files = append(sr.Files, f.Filename)
	}
	for i, f := range r.Findings {
		if i == maxStoredFindings {
			sr.Findings = append(sr.Findings, meta.ScanFinding{Scanner: "trove", Verdict: r.Verdict.String(),
				Message: fmt.Sprintf("%d more findings are not stored", len(r.Findings)-i)})
			break
		}
		sr.Findings = append(sr.Findings, meta.ScanFinding{Scanner: f.Scanner, Rule: f.Rule, File: f.File, Line: f.Line,
			Message: f.Message, Verdict: f.Verdict.String(), Malicious: f.Malicious})
	}
	return tx.InsertScanResult(ctx, sr)
}

// ScanJob is the job that finishes pending scans.
func (s *Service) ScanJob() Job {
	return Job{Name: "scan-pending", Every: ScanJobEvery, Run: s.ScanPending}
}

// ScanPending finishes the pending scans (at most maxPendingPerRun,
// oldest first). A scan that fails stays pending for the next run, and
// after PendingGiveUp is held for an administrator; one that outlasts
// pendingScanTimeout is held at once.
func (s *Service) ScanPending(ctx context.Context) error {
	if err := s.writable(); err != nil {
		return nil // a read-only replica decides nothing
	}
	hs, err := s.db.PendingScans(ctx, maxPendingPerRun)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if err := s.finishScan(ctx, h); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			why := ""
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				// Scanning it again would take as long: an upload
				// built to outlast the scanners is for an administrator.
				why = fmt.Sprintf("could not check it within %s", pendingScanTimeout)
			case now(s).Sub(h.At) > PendingGiveUp:
				why = fmt.Sprintf("could not check it for %s (%v)", PendingGiveUp, err)
			default:
				log().Warn("pending scan failed; retrying later", "ecosystem", h.Ecosystem, "package", h.Name, "version", h.Version, "err", err)
			}
			if why != "" {
				if err := s.giveUpScan(ctx, h, why); err != nil {
					log().Error("holding a scan that keeps failing", "package", h.Name, "version", h.Version, "err", err)
				}
			}
		}
	}
	return nil
}

// finishScan scans a pending release's quarantined files and decides it.
func (s *Service) finishScan(ctx context.Context, h *meta.HeldRelease) error {
	res, err := s.heldRelease(ctx, h.Ecosystem, h.DisplayName, h.Version)
	if err != nil {
		return err
	}
	a, done, err := s.storedArtifact(ctx, res)
	if err != nil {
		return err
	}
	defer done()
	// The scanners comparing releases need the history, as during the
	// upload.
	if err := s.addHistory(ctx, a, res); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, pendingScanTimeout)
	report, err := s.scan.Scan(sctx, a)
	cancel()
	if err != nil {
		return err
	}
	at := now(s)
	decided := ""
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := s.writable(); err != nil {
			return err
		}
		if err := tx.LockPackage(ctx, res.Package.ID); err != nil {
			return err
		}
		// Under the lock: an administrator may have decided meanwhile.
		cur, err := tx.HoldOf(ctx, res.Release.ID)
		if errors.Is(err, meta.ErrNotFound) || err == nil && cur.Reason != meta.HoldPending {
			return nil
		} else if err != nil {
			return err
		}
		switch report.Verdict {
		case scan.Reject:
			decided = "rejected"
			if err := tx.DiscardQuarantined(ctx, res.Release.ID); err != nil {
				return err
			}
			return s.notifyDecision(ctx, tx, res, h.Publisher, "scan",
				fmt.Sprintf("%s %s was rejected by this registry's scanners and discarded: %v", res.Package.DisplayName, h.Version, report.Err()), true)
		case scan.Hold:
			decided = "held"
			if err := saveScan(ctx, tx, res, report, at); err != nil {
				return err
			}
			msg := heldMessage(res.Package.DisplayName, h.Version, report)
			if err := tx.UpdateHold(ctx, res.Release.ID, "scan", msg); err != nil {
				return err
			}
			return s.notifyDecision(ctx, tx, res, h.Publisher, "scan", msg, false)
		}
		decided = "published"
		if err := saveScan(ctx, tx, res, report, at); err != nil {
			return err
		}
		if err := tx.DeleteHold(ctx, res.Release.ID); err != nil {
			return err
		}
		return publishTx(ctx, tx, res, cur.Tags, cur.Lines, at)
	})
	if err != nil || decided == "" {
		return err
	}
	log().Info("pending scan decided", "ecosystem", res.Package.Ecosystem, "package", res.Package.Name, "version", h.Version, "outcome", decided)
	if decided == "published" {
		s.changed(res.Package.Ecosystem, res.Package.Name)
		return s.sign(ctx)
	}
	return nil
}

// giveUpScan holds a release whose scan kept failing for an
// administrator.
func (s *Service) giveUpScan(ctx context.Context, h *meta.HeldRelease, why string) error {
	res, err := s.heldRelease(ctx, h.Ecosystem, h.DisplayName, h.Version)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%s %s is held for review: this registry's scanners %s. "+
		"An administrator will release or reject it", res.Package.DisplayName, h.Version, why)
	return s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.LockPackage(ctx, res.Package.ID); err != nil {
			return err
		}
		if cur, err := tx.HoldOf(ctx, res.Release.ID); err != nil || cur.Reason != meta.HoldPending {
			return err
		}
		if err := tx.UpdateHold(ctx, res.Release.ID, "scan", msg); err != nil {
			return err
		}
		return s.notifyDecision(ctx, tx, res, h.Publisher, "scan", msg, false)
	})
}

// notifyDecision tells the publisher and owners (and, for a hold, the
// administrators) what the scan job decided.
func (s *Service) notifyDecision(ctx context.Context, tx *meta.Tx, res *Result, publisher, reason, msg string, rejected bool) error {
	log().Warn("pending scan: upload "+map[bool]string{true: "rejected", false: "held for review"}[rejected],
		"ecosystem", res.Package.Ecosystem, "package", res.Package.Name, "version", res.Release.Version, "publisher", publisher)
	if s.held == nil {
		return nil
	}
	var ids []int64
	if res.Release.PublisherID != 0 {
		ids = append(ids, res.Release.PublisherID)
	}
	owners, err := tx.Owners(ctx, res.Package.ID)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if o.ID != res.Release.PublisherID {
			ids = append(ids, o.ID)
		}
	}
	return s.held(ctx, tx, HeldUpload{Package: res.Package, Version: res.Release.Version, Reason: reason, Message: msg,
		Publisher: publisher, UserIDs: ids, Rejected: rejected})
}

// storedArtifact is the artifact of a held release's quarantined files,
// copied from the blob store to temporary files (scanners read at
// random); done removes them.
func (s *Service) storedArtifact(ctx context.Context, res *Result) (a *scan.Artifact, done func(), err error) {
	a = &scan.Artifact{Ecosystem: string(res.Package.Ecosystem), Name: string(res.Package.Name), Version: res.Release.Version,
		Metadata: res.Release.Metadata}
	var open []*os.File
	done = func() {
		for _, f := range open {
			f.Close()
			os.Remove(f.Name())
		}
	}
	for _, f := range res.Files {
		tmp, err := os.CreateTemp(s.tempDir, "scan-*")
		if err != nil {
			done()
			return nil, nil, err
		}
		open = append(open, tmp)
		r, err := s.blobs.Open(ctx, blob.Digest(f.SHA256), 0)
		if err != nil {
			done()
			return nil, nil, fmt.Errorf("reading %s: %w", f.Filename, err)
		}
		n, err := io.Copy(tmp, r)
		r.Close()
		if err == nil && n != f.Size {
			err = fmt.Errorf("%d bytes stored, %d expected", n, f.Size)
		}
		if err != nil {
			done()
			return nil, nil, fmt.Errorf("reading %s: %w", f.Filename, err)
		}
		a.Files = append(a.Files, scan.File{Name: f.Filename, Size: n, Content: tmp})
	}
	return a, done, nil
}
