package registry_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// slowScanner is a slow scanner (an antivirus daemon) that answers only
// once released, with a fixed verdict.
type slowScanner struct {
	mu      sync.Mutex
	verdict scan.Verdict
	gate    chan struct{} // closed: answer at once
	saw     []string
	err     error // the scan's failure, once the gate is open
}

func newSlowScanner(v scan.Verdict) *slowScanner {
	return &slowScanner{verdict: v, gate: make(chan struct{})}
}

func (s *slowScanner) Name() string { return "av" }
func (s *slowScanner) Slow() bool   { return true }
func (s *slowScanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	for _, f := range a.Files {
		b := make([]byte, f.Size)
		if _, err := f.Content.ReadAt(b, 0); err != nil {
			return nil, err
		}
		s.saw = append(s.saw, f.Name+":"+string(b))
	}
	if s.verdict == scan.Publish {
		return nil, nil
	}
	return []scan.Finding{{Rule: "Test.Sig", File: a.Files[0].Name, Message: "signature Test.Sig found", Verdict: s.verdict,
		Malicious: s.verdict == scan.Reject}}, nil
}

type scanEnv struct {
	*burstEnv
	av        *slowScanner
	malicious []string
}

func newScanEnv(t *testing.T, v scan.Verdict) *scanEnv {
	t.Helper()
	av := newSlowScanner(v)
	e := &scanEnv{burstEnv: &burstEnv{env: &env{db: dbtest.Open(t), blobs: memblob.New(), now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}}, av: av}
	p := scan.NewPipeline(&verdictScanner{verdict: scan.Publish}, av)
	p.SetTimes(time.Minute, 20*time.Millisecond)
	var err error
	e.reg, err = registry.New(registry.Config{DB: e.db, Blobs: e.blobs, Scan: p,
		Rules: []registry.Rules{rules{"npm"}}, TempDir: filepath.Join(t.TempDir(), "tmp"), Now: func() time.Time { return e.now },
		Held: func(_ context.Context, tx *meta.Tx, h registry.HeldUpload) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.notices = append(e.notices, h)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.OnMalicious(func(ctx context.Context, eco trove.Ecosystem, name trove.Name, version, why string) error {
		e.malicious = append(e.malicious, string(name)+"@"+version+": "+why)
		return nil
	})
	return e
}

// publishPending uploads demo 1.0 and expects it held until the slow
// scanner answers.
func (e *scanEnv) publishPending(t *testing.T, who *access.Principal) {
	t.Helper()
	_, err := e.reg.Publish(ctx, who, e.upload(t, "demo", "1.0", map[string]string{"demo-1.0.tgz": "payload"}))
	if !errors.Is(err, trove.ErrHeld) || !strings.Contains(err.Error(), "held until this registry's scanners finish") {
		t.Fatalf("Publish = %v, want held until the scanners finish", err)
	}
	if _, err := e.reg.Project(ctx, "npm", "demo"); !errors.Is(err, trove.ErrNotFound) {
		t.Fatalf("pending release visible: %v", err)
	}
	// The sweep of abandoned uploads leaves it alone.
	e.now = e.now.Add(2 * registry.StaleQuarantine)
	if err := e.reg.SweepJob().Run(ctx); err != nil {
		t.Fatal(err)
	}
	close(e.av.gate)
	if err := e.reg.ScanPending(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.av.saw) != 1 || e.av.saw[0] != "demo-1.0.tgz:payload" {
		t.Errorf("the job's scan read %q, want the stored file", e.av.saw)
	}
}

func TestPendingScanPublishes(t *testing.T) {
	e := newScanEnv(t, scan.Publish)
	alice := e.user(t, "alice", false)
	e.publishPending(t, alice)
	p, err := e.reg.Project(ctx, "npm", "demo")
	if err != nil || len(p.Releases) != 1 || len(p.Tags) != 1 || p.Tags[0].Tag != "latest" || p.Tags[0].Version != "1.0" {
		t.Fatalf("after the scan: %+v, %v; want 1.0 published with its latest tag", p, err)
	}
	if held, _ := e.reg.HeldReleases(ctx); len(held) != 0 {
		t.Errorf("still held: %+v", held[0])
	}
	sum, err := e.reg.ScanSummary(ctx, "npm", "demo", "1.0")
	if err != nil || !sum.Scanned || sum.Verdict != "publish" || strings.Join(sum.Scanners, ",") != "test,av" ||
		sum.Findings != 1 || sum.Rules["test/r"] != 1 {
		t.Errorf("summary = %+v, %v", sum, err)
	}
	if len(e.notices) != 0 {
		t.Errorf("notices for a clean pending scan: %+v", e.notices)
	}
	// Nothing left to do.
	if err := e.reg.ScanPending(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPendingScanHolds(t *testing.T) {
	e := newScanEnv(t, scan.Hold)
	alice := e.user(t, "alice", false)
	e.publishPending(t, alice)
	held, err := e.reg.HeldReleases(ctx)
	if err != nil || len(held) != 1 || held[0].Reason != "scan" || !strings.Contains(held[0].Message, "demo-1.0.tgz: av: signature Test.Sig found") {
		t.Fatalf("held = %+v, %v; want a scan hold with the finding", held, err)
	}
	if len(e.notices) != 1 || e.notices[0].Rejected || len(e.notices[0].UserIDs) != 1 {
		t.Errorf("notices = %+v, want one hold notice to alice", e.notices)
	}
	// The owner reads the findings; someone else does not learn the
	// release exists.
	scans, err := e.reg.ScanFindings(ctx, alice, "npm", "demo", "1.0")
	if err != nil || len(scans) != 1 || scans[0].Verdict != "hold" || len(scans[0].Findings) != 2 ||
		scans[0].Findings[1].File != "demo-1.0.tgz" || scans[0].Findings[1].Rule != "Test.Sig" {
		t.Errorf("findings for the owner = %+v, %v", scans, err)
	}
	bob := e.user(t, "bob", false)
	if _, err := e.reg.ScanFindings(ctx, bob, "npm", "demo", "1.0"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("findings of a held release for another user: %v, want not found", err)
	}
	if _, err := e.reg.ScanSummary(ctx, "npm", "demo", "1.0"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("summary of a held release: %v, want not found", err)
	}
	// An administrator releases it: the summary says it was held.
	if _, err := e.reg.ReleaseHeld(ctx, "npm", "demo", "1.0"); err != nil {
		t.Fatal(err)
	}
	sum, err := e.reg.ScanSummary(ctx, "npm", "demo", "1.0")
	if err != nil || sum.Verdict != "hold" || sum.Rules["av/Test.Sig"] != 1 {
		t.Errorf("summary after release = %+v, %v", sum, err)
	}
	if _, err := e.reg.ScanFindings(ctx, bob, "npm", "demo", "1.0"); !errors.Is(err, access.ErrDenied) {
		t.Errorf("findings of a published release for another user: %v, want denied", err)
	}
}

// TestPendingScanOutlastingItsTime: a background scan that runs out of
// its time is not tried again (it would take as long each time): the
// upload is held for an administrator at once, saying why.
func TestPendingScanOutlastingItsTime(t *testing.T) {
	e := newScanEnv(t, scan.Publish)
	alice := e.user(t, "alice", false)
	_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.0.tgz": "payload"}))
	if !errors.Is(err, trove.ErrHeld) {
		t.Fatalf("Publish = %v, want pending", err)
	}
	e.av.err = fmt.Errorf("scanner av: %w", context.DeadlineExceeded)
	close(e.av.gate)
	if err := e.reg.ScanPending(ctx); err != nil {
		t.Fatal(err)
	}
	held, err := e.reg.HeldReleases(ctx)
	if err != nil || len(held) != 1 || held[0].Reason != "scan" || !strings.Contains(held[0].Message, "could not check it within 5m0s") {
		t.Fatalf("held = %+v, %v; want held for an administrator at once", held, err)
	}
	if len(e.notices) != 1 || e.notices[0].Rejected {
		t.Errorf("notices = %+v, want one hold notice", e.notices)
	}
}

func TestPendingScanRejects(t *testing.T) {
	e := newScanEnv(t, scan.Reject)
	alice := e.user(t, "alice", false)
	e.publishPending(t, alice)
	if held, _ := e.reg.HeldReleases(ctx); len(held) != 0 {
		t.Fatalf("rejected upload still held: %+v", held[0])
	}
	if len(e.notices) != 1 || !e.notices[0].Rejected || !strings.Contains(e.notices[0].Message, "rejected by this registry's scanners") {
		t.Errorf("notices = %+v, want one rejection notice", e.notices)
	}
	// Discarded: the version is free again.
	e.av.verdict = scan.Publish
	e.publish(t, alice, "demo", "1.0", "fixed")
	if len(e.malicious) != 0 {
		t.Errorf("an upload fed curation: %q", e.malicious)
	}
}

// An administrator's decision while the scan runs wins.
func TestPendingScanDecidedMeanwhile(t *testing.T) {
	e := newScanEnv(t, scan.Reject)
	alice := e.user(t, "alice", false)
	_, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.0", map[string]string{"demo-1.0.tgz": "payload"}))
	if !errors.Is(err, trove.ErrHeld) {
		t.Fatal(err)
	}
	if _, err := e.reg.ReleaseHeld(ctx, "npm", "demo", "1.0"); err != nil {
		t.Fatal(err)
	}
	close(e.av.gate)
	if err := e.reg.ScanPending(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := e.reg.Project(ctx, "npm", "demo"); err != nil || len(p.Releases) != 1 {
		t.Errorf("released upload: %+v, %v", p, err)
	}
}

// An upstream import waits for every scanner; a malicious verdict feeds
// curation.
func TestImportWaitsForSlowScannersAndFeedsCuration(t *testing.T) {
	e := newScanEnv(t, scan.Reject)
	close(e.av.gate)
	_, err := e.imp(t, "evil", "1.0", "payload")
	if !errors.Is(err, trove.ErrRejected) {
		t.Fatalf("Import = %v, want rejected", err)
	}
	if len(e.malicious) != 1 || !strings.HasPrefix(e.malicious[0], "evil@1.0: av: signature Test.Sig found") {
		t.Errorf("malicious feed = %q", e.malicious)
	}
	e.av.verdict = scan.Publish
	if _, err := e.imp(t, "good", "1.0", "payload"); err != nil {
		t.Fatal(err)
	}
	if sum, err := e.reg.ScanSummary(ctx, "npm", "good", "1.0"); err != nil || strings.Join(sum.Scanners, ",") != "test,av" {
		t.Errorf("summary of an import = %+v, %v", sum, err)
	}
}
