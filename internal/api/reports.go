package api

import (
	"net/http"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Reports and the administrators' queue (docs/scanning.md):
//
//	POST /v1/reports      {"ecosystem", "name", "version", "category", "reason"} → 201 {"ok": true}
//	GET  /v1/admin/queue  → {"reports": [{"ecosystem", "name", "version", "count", "first", "categories", "reasons", "reporters", "visible", "held", "quarantined"}], "held": [{"ecosystem", "name", "version", "reason", "message", "at", "publisher"}], "quarantined": [{"ecosystem", "name", "version", "reason", "by", "at", "prior_state"}]}
//	POST /v1/admin/queue  {"action", "ecosystem", "name", "version", "reason", "malicious"} → {"ok": true}
//
// Anyone signed in reports a package ("version" left out) or a release;
// category is malicious, spam, typosquat or other. A user's second open
// report on a target is 409, more than the report rate (10 an hour) 429
// with Retry-After; a private package the user cannot read is 404. The
// queue and its actions are for administrators, with a token carrying
// the yank action on every package (the queue names the reporters):
// action is quarantine
// (take a visible release out of view while it is looked into; its
// reports stay open), remove (a takedown, for good, of a visible or
// quarantined release; "malicious": true publishes an OSV record),
// release (publish a held upload, or put a quarantined release back as
// it was) or dismiss (close the reports).

// reportRoutes are the report and queue endpoints of the route table.
func (h *Handler) reportRoutes() adapter.Table[string, request] {
	route, cred := adapter.NewRoute, adapter.Credential
	return adapter.Table[string, request]{
		{Route: route("reports.file", http.MethodPost, "/v1/reports", cred), Kind: "reports", Serve: h.report},
		{Route: route("admin.queue", http.MethodGet, "/v1/admin/queue", cred), Kind: "queue", Serve: h.queue},
		{Route: route("admin.queue.act", http.MethodPost, "/v1/admin/queue", cred), Kind: "queue", Serve: h.queueAction},
	}
}

// A ReportRequest is the body of POST /v1/reports.
type ReportRequest struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Category  string `json:"category"`
	Reason    string `json:"reason"`
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request, _ request) error {
	var in ReportRequest
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Ecosystem == "" || in.Name == "" {
		return trove.Error(trove.ErrInvalid, "a report names the package: {\"ecosystem\", \"name\"} and, for one release, \"version\"")
	}
	t := trove.Target{Ecosystem: trove.Ecosystem(in.Ecosystem), Name: in.Name, Version: in.Version}
	err := h.o.Registry.Report(r.Context(), access.PrincipalFrom(r.Context()), registry.ReportInput{Target: t, Category: in.Category, Reason: in.Reason})
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusCreated, map[string]bool{"ok": true})
}

// A QueuedReport is a target with open reports, as the queue shows it.
type QueuedReport struct {
	Ecosystem   string    `json:"ecosystem"`
	Name        string    `json:"name"`
	Version     string    `json:"version,omitempty"`
	Count       int       `json:"count"`
	First       time.Time `json:"first"`
	Categories  []string  `json:"categories"`
	Reasons     []string  `json:"reasons"`
	Reporters   []string  `json:"reporters"`
	Visible     bool      `json:"visible"`
	Held        bool      `json:"held"`
	Quarantined bool      `json:"quarantined"`
	Private     bool      `json:"private"`
}

// A QueuedQuarantine is a quarantined release, as the queue shows it.
type QueuedQuarantine struct {
	Ecosystem  string    `json:"ecosystem"`
	Name       string    `json:"name"`
	Version    string    `json:"version"`
	Reason     string    `json:"reason"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
	PriorState string    `json:"prior_state"`
}

// A QueuedHold is an upload held for review, as the queue shows it.
type QueuedHold struct {
	Ecosystem string    `json:"ecosystem"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Reason    string    `json:"reason"`
	Message   string    `json:"message"`
	At        time.Time `json:"at"`
	Publisher string    `json:"publisher,omitempty"`
}

// A QueueView is the answer of GET /v1/admin/queue.
type QueueView struct {
	Reports     []QueuedReport     `json:"reports"`
	Held        []QueuedHold       `json:"held"`
	Quarantined []QueuedQuarantine `json:"quarantined"`
}

func (h *Handler) queue(w http.ResponseWriter, r *http.Request, _ request) error {
	q, err := h.o.Registry.Queue(r.Context(), access.PrincipalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := QueueView{Reports: []QueuedReport{}, Held: []QueuedHold{}, Quarantined: []QueuedQuarantine{}}
	for _, t := range q.Reports {
		out.Reports = append(out.Reports, QueuedReport{Ecosystem: string(t.Ecosystem), Name: t.Name, Version: t.Version, Count: t.Count, First: t.First,
			Categories: t.Categories, Reasons: t.Reasons, Reporters: t.Reporters, Visible: t.Visible, Held: t.HeldRelease,
			Quarantined: t.Quarantined, Private: t.Private})
	}
	for _, qr := range q.Quarantined {
		out.Quarantined = append(out.Quarantined, QueuedQuarantine{Ecosystem: string(qr.Ecosystem), Name: qr.DisplayName, Version: qr.Version,
			Reason: qr.Reason, By: qr.By, At: qr.At, PriorState: string(qr.PriorState)})
	}
	for _, hr := range q.Held {
		out.Held = append(out.Held, QueuedHold{Ecosystem: string(hr.Ecosystem), Name: hr.DisplayName, Version: hr.Version, Reason: hr.Reason,
			Message: hr.Message, At: hr.At, Publisher: hr.Publisher})
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

// A QueueAction is the body of POST /v1/admin/queue.
type QueueAction struct {
	Action    string `json:"action"`
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Malicious bool   `json:"malicious,omitempty"`
}

func (h *Handler) queueAction(w http.ResponseWriter, r *http.Request, _ request) error {
	who := access.PrincipalFrom(r.Context())
	// Before the body is read: only administrators learn what it holds.
	if err := who.CheckAdmin(access.Yank); err != nil {
		return err
	}
	var in QueueAction
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Ecosystem == "" || in.Name == "" {
		return trove.Error(trove.ErrInvalid, "an action names its target: {\"ecosystem\", \"name\", \"version\"}")
	}
	t := trove.Target{Ecosystem: trove.Ecosystem(in.Ecosystem), Name: in.Name, Version: in.Version}
	if in.Reason != "" {
		audit.SetDetail(r.Context(), "reason: "+in.Reason)
	}
	var err error
	switch in.Action {
	case "quarantine":
		err = h.o.Registry.Quarantine(r.Context(), who, t, in.Reason)
	case "remove":
		err = h.o.Registry.TakeDown(r.Context(), who, t, in.Reason, in.Malicious)
	case "release":
		err = h.o.Registry.ReleaseReported(r.Context(), who, t, in.Reason)
	case "dismiss":
		err = h.o.Registry.Dismiss(r.Context(), who, t, in.Reason)
	default:
		return trove.Error(trove.ErrInvalid, "unknown action %q: use quarantine, remove, release or dismiss", in.Action)
	}
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
