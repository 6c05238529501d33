package api

import (
	"net/http"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/meta"
)

// scanJSON is the public summary of a release's scans (SCVS-4.17).
type scanJSON struct {
	Scanned  bool           `json:"scanned"`
	Scanners []string       `json:"scanners"`
	Verdict  string         `json:"verdict"`
	Findings int            `json:"findings"`
	Rules    map[string]int `json:"rules"`
	At       string         `json:"scanned_at,omitempty"`
}

func (h *Handler) scanSummary(w http.ResponseWriter, r *http.Request, req request) error {
	t := req.target
	sum, err := h.o.Registry.ScanSummary(r.Context(), t.Ecosystem, t.Name, t.Version)
	if err != nil {
		return err
	}
	out := scanJSON{Scanned: sum.Scanned, Scanners: sum.Scanners, Verdict: sum.Verdict, Findings: sum.Findings, Rules: sum.Rules}
	if out.Scanners == nil {
		out.Scanners = []string{}
	}
	if sum.Scanned {
		out.At = sum.At.Format(time.RFC3339)
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

// findingsJSON is one scan with its findings, for maintainers.
type findingsJSON struct {
	Files    []string           `json:"files"`
	Scanners []string           `json:"scanners"`
	Verdict  string             `json:"verdict"`
	Findings []meta.ScanFinding `json:"findings"`
	At       string             `json:"scanned_at"`
}

func (h *Handler) scanFindings(w http.ResponseWriter, r *http.Request, req request) error {
	t := req.target
	scans, err := h.o.Registry.ScanFindings(r.Context(), access.PrincipalFrom(r.Context()), t.Ecosystem, t.Name, t.Version)
	if err != nil {
		return err
	}
	out := []findingsJSON{}
	for _, s := range scans {
		f := findingsJSON{Files: s.Files, Scanners: s.Scanners, Verdict: s.Verdict, Findings: s.Findings, At: s.At.Format(time.RFC3339)}
		if f.Findings == nil {
			f.Findings = []meta.ScanFinding{}
		}
		out = append(out, f)
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"scans": out})
}
