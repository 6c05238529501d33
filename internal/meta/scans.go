package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// A ScanResult is one scan of the files an upload brought to a release
// (docs/scanning.md).
type ScanResult struct {
	ID        int64
	ReleaseID int64
	Files     []string // the filenames scanned
	Scanners  []string // the scanners that ran to the end
	Verdict   string   // "publish", "hold" or "reject"
	Findings  []ScanFinding
	At        time.Time
}

// A ScanFinding is one finding of a scan, as stored.
type ScanFinding struct {
	Scanner   string `json:"scanner"`
	Rule      string `json:"rule,omitempty"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Message   string `json:"message"`
	Verdict   string `json:"verdict"`
	Malicious bool   `json:"malicious,omitempty"`
}

// MaxScanResults bounds the scans ScanResults returns for a release.
const MaxScanResults = 100

// InsertScanResult records a scan of a release's files.
func (tx *Tx) InsertScanResult(ctx context.Context, r *ScanResult) error {
	findings, err := json.Marshal(r.Findings)
	if err != nil {
		return err
	}
	if r.Findings == nil {
		findings = []byte("[]")
	}
	_, err = tx.exec(ctx, `INSERT INTO scan_results (release_id, files, scanners, verdict, findings, scanned_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ReleaseID, marshalStrings(r.Files), marshalStrings(r.Scanners), r.Verdict, string(findings), r.At.UnixMicro())
	return err
}

// ScanResults returns the scans of a release, oldest first (at most
// MaxScanResults, the newest of them).
func (q q) ScanResults(ctx context.Context, releaseID int64) ([]*ScanResult, error) {
	rows, err := q.query(ctx, `SELECT id, release_id, files, scanners, verdict, findings, scanned_at FROM
		(SELECT * FROM scan_results WHERE release_id = ? ORDER BY id DESC LIMIT ?) newest ORDER BY id`, releaseID, MaxScanResults)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (*ScanResult, error) {
		var r ScanResult
		var files, scanners, findings string
		var at int64
		if err := s.Scan(&r.ID, &r.ReleaseID, &files, &scanners, &r.Verdict, &findings, &at); err != nil {
			return nil, err
		}
		var err error
		if r.Files, err = unmarshalStrings(files); err != nil {
			return nil, fmt.Errorf("scan %d: files: %w", r.ID, err)
		}
		if r.Scanners, err = unmarshalStrings(scanners); err != nil {
			return nil, fmt.Errorf("scan %d: scanners: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(findings), &r.Findings); err != nil {
			return nil, fmt.Errorf("scan %d: findings: %w", r.ID, err)
		}
		r.At = time.UnixMicro(at).UTC()
		return &r, nil
	})
}
