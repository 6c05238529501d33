package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// The administrators' queue (docs/scanning.md): the open reports by
// target and the uploads held for review, on one page, with the actions
// of the API's POST /v1/admin/queue as forms. Every action goes through
// the registry's calls, as the API's do: the same checks, the same
// transparency log records and mail, and the route's audit entry
// (web.admin.queue.action) on the target.

// queueView is the queue page.
type queueView struct {
	Reports     []queuedTarget
	Held        []queuedHold
	Quarantined []queuedQuarantine
	Message     string
	// MaxReason bounds the reason an administrator types.
	MaxReason int
}

// queuedTarget is a row of the reports: a package or release.
type queuedTarget struct {
	*registry.ReportedTarget
	Page    string // the package page
	Reports []queuedReason
}

// queuedReason is one of the target's reports as shown.
type queuedReason struct {
	Category, Reason, Reporter string
}

// queuedQuarantine is a row of the quarantined releases.
type queuedQuarantine struct {
	*meta.QuarantinedRelease
	Page string // the release's page, which says it is quarantined
}

// queuedHold is a row of the held uploads.
type queuedHold struct {
	*meta.HeldRelease
	Page string // the package's page; "" when it has no visible release
}

var queueMessages = map[string]string{
	"remove":     "The release was taken down: it is a tombstone now, the takedown is in the transparency log, and its owners and reporters were told.",
	"release":    "The release is published: a held upload as it was uploaded, a quarantined release back as it was; its reports, if any, were closed and the owners and reporters told.",
	"dismiss":    "The reports were dismissed; the reporters and the owners were told. Nothing else changed.",
	"quarantine": "The release was quarantined: it is out of view and cannot be installed, the quarantine is in the transparency log, and its owners were told. Its reports stay open: release it or remove it.",
	"reject":     "The held upload was discarded: its version and filenames are free again.",
}

// queueActions are the actions the queue's forms post.
var queueActions = []string{"quarantine", "remove", "release", "dismiss", "reject"}

// adminQueue serves GET /-/admin/queue?done=ACTION.
func (h *Handler) adminQueue(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Registry == nil {
		h.notFound(w, r)
		return nil
	}
	q, err := h.o.Registry.Queue(r.Context(), sessionPrincipal(v))
	if err != nil {
		return err
	}
	qv := queueView{Message: queueMessages[r.URL.Query().Get("done")], MaxReason: registry.MaxReasonLen}
	for _, t := range q.Reports {
		row := queuedTarget{ReportedTarget: t, Page: packageURL(t.Ecosystem, t.Name, t.Version)}
		for i := range t.Reasons {
			rr := queuedReason{Reason: t.Reasons[i]}
			if i < len(t.Categories) {
				rr.Category = t.Categories[i]
			}
			if i < len(t.Reporters) {
				rr.Reporter = t.Reporters[i]
			}
			row.Reports = append(row.Reports, rr)
		}
		qv.Reports = append(qv.Reports, row)
	}
	for _, hr := range q.Held {
		row := queuedHold{HeldRelease: hr}
		// A first upload held has no page to link to.
		if _, err := h.o.Registry.Project(r.Context(), hr.Ecosystem, string(hr.Name)); err == nil {
			row.Page = packageURL(hr.Ecosystem, hr.DisplayName, "")
		} else if !errors.Is(err, trove.ErrNotFound) {
			return err
		}
		qv.Held = append(qv.Held, row)
	}
	for _, qr := range q.Quarantined {
		qv.Quarantined = append(qv.Quarantined, queuedQuarantine{QuarantinedRelease: qr, Page: packageURL(qr.Ecosystem, qr.DisplayName, qr.Version)})
	}
	h.page(w, r, http.StatusOK, "adminqueue", qv)
	return nil
}

// removeView is the confirmation page of a takedown.
type removeView struct {
	Ecosystem, Name, Version string
	Reason                   string
	Malicious                bool
	MaxReason                int
	Error                    string
}

// adminQueueRemovePage serves GET
// /-/admin/queue/remove?ecosystem=&name=&version=: what taking the
// release down does, and the form that does it (the reason, whether it
// is malicious, and the package's name typed to confirm).
func (h *Handler) adminQueueRemovePage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	if h.o.Registry == nil {
		h.notFound(w, r)
		return nil
	}
	q := r.URL.Query()
	rv := removeView{Ecosystem: q.Get("ecosystem"), Name: q.Get("name"), Version: q.Get("version"), Malicious: q.Get("malicious") != "",
		MaxReason: registry.MaxReasonLen}
	if err := queueTarget(rv.Ecosystem, rv.Name, rv.Version, true); err != nil {
		return err
	}
	// Only a visible or quarantined release is taken down (a held upload
	// is rejected): the page offers no form for anything else.
	pv, err := h.o.Registry.View(r.Context(), trove.Ecosystem(rv.Ecosystem), rv.Name)
	if err != nil {
		return err
	}
	found := false
	for _, rel := range pv.Releases {
		if rel.Version == rv.Version && (rel.State.Visible() || rel.State == trove.Suspended) {
			found, rv.Name = true, pv.Package.DisplayName
		}
	}
	if !found {
		return trove.Error(trove.ErrNotFound, "%s %s has no visible or quarantined version %s to remove (a held upload is rejected instead); nothing changed",
			rv.Ecosystem, pv.Package.DisplayName, clip(rv.Version))
	}
	h.page(w, r, http.StatusOK, "adminqueueremove", rv)
	return nil
}

// queueTarget checks a target as a form names it.
func queueTarget(eco, name, version string, needVersion bool) error {
	switch {
	case eco == "" || name == "":
		return trove.Error(trove.ErrInvalid, "an action names its target: the ecosystem and the package (and the version); nothing changed")
	case len(eco) > maxQueryField || len(name) > maxQueryField || len(version) > maxQueryField:
		return trove.Error(trove.ErrInvalid, "the target's ecosystem, name or version is longer than %d bytes; nothing changed", maxQueryField)
	case needVersion && version == "":
		return trove.Error(trove.ErrInvalid, "a takedown, a quarantine or a held upload is named by its version: act on releases one at a time, or dismiss the reports on the whole package; nothing changed")
	}
	return nil
}

// adminQueueAction serves POST /-/admin/queue/{action}: quarantine,
// remove, release, dismiss (a target's reports) or reject (a held upload), with the
// target, a required reason, and for remove the malicious box and the
// package's name typed to confirm. It redirects to the queue with what
// was done.
func (h *Handler) adminQueueAction(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Registry == nil {
		h.notFound(w, r)
		return nil
	}
	action := r.PathValue("action")
	if !slices.Contains(queueActions, action) {
		return trove.Error(trove.ErrNotFound, "no queue action %q: use quarantine, remove, release, dismiss or reject", clip(action))
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	eco, name, version := strings.TrimSpace(f.Get("ecosystem")), strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("version"))
	reason := strings.TrimSpace(f.Get("reason"))
	malicious := f.Get("malicious") != ""
	if err := queueTarget(eco, name, version, action != "dismiss"); err != nil {
		return err
	}
	t := trove.Target{Ecosystem: trove.Ecosystem(eco), Name: name, Version: version}
	if action == "remove" && (reason == "" || !strings.EqualFold(strings.TrimSpace(f.Get("confirm")), name)) {
		msg := "type the package's name, " + name + ", to confirm; nothing was removed"
		if reason == "" {
			msg = "give a reason: it goes into the transparency log and the mail to the owners and reporters; nothing was removed"
		}
		h.page(w, r, http.StatusBadRequest, "adminqueueremove", removeView{Ecosystem: eco, Name: name, Version: version, Reason: reason,
			Malicious: malicious, MaxReason: registry.MaxReasonLen, Error: msg})
		return nil
	}
	if reason == "" {
		return trove.Error(trove.ErrInvalid, "give a reason for the %s: it goes to the owners, the reporters and the logs; nothing changed", action)
	}
	if len(reason) > registry.MaxReasonLen {
		return trove.Error(trove.ErrInvalid, "the reason is longer than %d bytes: shorten it; nothing changed", registry.MaxReasonLen)
	}
	who := sessionPrincipal(v)
	ctx := r.Context()
	audit.SetTarget(ctx, trove.Target{Ecosystem: t.Ecosystem, Name: h.o.Registry.Key(t.Ecosystem, name), Version: version})
	audit.SetDetail(ctx, "reason: "+reason)
	var err error
	switch action {
	case "quarantine":
		err = h.o.Registry.Quarantine(ctx, who, t, reason)
	case "remove":
		err = h.o.Registry.TakeDown(ctx, who, t, reason, malicious)
	case "release":
		err = h.o.Registry.ReleaseReported(ctx, who, t, reason)
	case "dismiss":
		err = h.o.Registry.Dismiss(ctx, who, t, reason)
	case "reject":
		// RejectHeld is an operator's call: the administrator's check is
		// the queue's own, as for the other actions.
		if err = who.CheckAdmin(access.Yank); err == nil {
			err = h.o.Registry.RejectHeld(ctx, t.Ecosystem, name, version)
		}
	}
	var le *access.LevelError
	if errors.As(err, &le) {
		// The registry words it for a token; here it is the session.
		need := "a second factor"
		if le.Need == trove.AuthPhishingResistant {
			need = "a security key or passkey"
		}
		return fmt.Errorf("%w: changing %s:%s needs a sign-in with %s (the registry's policy), and this session was signed in without one: add one at /-/account/security if you have none, then sign out and sign in with it; nothing changed",
			access.ErrDenied, le.Ecosystem, le.Name, need)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/-/admin/queue?done="+action)
}
