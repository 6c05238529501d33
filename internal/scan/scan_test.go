package scan_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/scan"
)

// fake is a scanner that finds what it is given, after a delay, or fails.
type fake struct {
	name  string
	slow  bool
	delay time.Duration // waits this long, or until ctx ends
	find  []scan.Finding
	err   error
	ran   *int
}

func (f fake) Name() string { return f.name }
func (f fake) Slow() bool   { return f.slow }
func (f fake) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	if f.ran != nil {
		*f.ran++
	}
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return f.find, f.err
}

func TestScanUpload(t *testing.T) {
	reject := []scan.Finding{{Rule: "bad", Message: "known bad", Verdict: scan.Reject, Malicious: true}}
	broken := errors.New("daemon gone")
	forever := time.Hour
	for _, tc := range []struct {
		name     string
		scanners []scan.Scanner
		verdict  scan.Verdict
		pending  bool
		err      error
		ran      []string
	}{
		{"nothing", nil, scan.Publish, false, nil, nil},
		{"inline and slow in time", []scan.Scanner{fake{name: "av", slow: true, find: hold()}, fake{name: "secrets"}},
			scan.Hold, false, nil, []string{"secrets", "av"}},
		{"slow too slow", []scan.Scanner{fake{name: "secrets", find: hold()}, fake{name: "av", slow: true, delay: forever}},
			scan.Hold, true, nil, []string{"secrets"}},
		{"inline reject skips slow", []scan.Scanner{fake{name: "known", find: reject}, fake{name: "av", slow: true, delay: forever}},
			scan.Reject, false, nil, []string{"known"}},
		{"inline too slow", []scan.Scanner{fake{name: "secrets", delay: forever}, fake{name: "av", slow: true}},
			scan.Publish, true, nil, nil},
		{"scanner error", []scan.Scanner{fake{name: "av", slow: true, err: broken}}, scan.Publish, false, broken, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := scan.NewPipeline(tc.scanners...)
			p.SetTimes(50*time.Millisecond, 50*time.Millisecond)
			r, pending, err := p.ScanUpload(context.Background(), &scan.Artifact{Name: "demo"})
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if r.Verdict != tc.verdict || pending != tc.pending || !slices.Equal(r.Scanners, tc.ran) {
				t.Errorf("verdict %v pending %v ran %v; want %v %v %v", r.Verdict, pending, r.Scanners, tc.verdict, tc.pending, tc.ran)
			}
		})
	}
}

// A canceled request is an error, not a pending scan: nothing may be left
// quarantined for a client that went away before the inline checks ran.
func TestScanUploadCanceled(t *testing.T) {
	p := scan.NewPipeline(fake{name: "secrets", delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, pending, err := p.ScanUpload(ctx, &scan.Artifact{}); err == nil || pending {
		t.Fatalf("canceled scan: pending %v, err %v", pending, err)
	}
}

func TestScanRunsEverythingToTheEnd(t *testing.T) {
	var ran int
	p := scan.NewPipeline(fake{name: "av", slow: true, delay: 100 * time.Millisecond, find: hold(), ran: &ran}, fake{name: "secrets", ran: &ran})
	p.SetTimes(time.Millisecond, time.Millisecond)
	r, err := p.Scan(context.Background(), &scan.Artifact{})
	if err != nil || r.Verdict != scan.Hold || ran != 2 || !slices.Equal(r.Scanners, []string{"secrets", "av"}) {
		t.Fatalf("Scan = %+v, %v (ran %d)", r, err, ran)
	}
	if got := strings.Join(p.Names(), ","); got != "secrets,av" {
		t.Errorf("Names = %s", got)
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "a.js:3: av: looks odd") {
		t.Errorf("Err = %v", err)
	}
}

func hold() []scan.Finding {
	return []scan.Finding{{Rule: "r", File: "a.js", Line: 3, Message: "looks odd", Verdict: scan.Hold}}
}
