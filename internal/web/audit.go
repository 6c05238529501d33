package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// An AuditReader reads the audit log (meta.DB is one).
type AuditReader interface {
	// AuditEntries returns up to limit entries that pass the filter,
	// newest first.
	AuditEntries(ctx context.Context, f meta.AuditFilter, limit int) ([]*meta.AuditEntry, error)
}

// auditPageSize is how many entries one page of an audit view shows.
const auditPageSize = 50

// auditView is a page of the audit log: the account's own, or the
// administrators' view of every account's with its filters.
type auditView struct {
	Entries  []*meta.AuditEntry
	Query    url.Values // the filters, for the form
	Outcomes []audit.Outcome
	Next     template.URL // the next (older) page; "" on the last
	Off      bool         // this server does not serve its audit log
	// Org is the organisation whose entries the page shows ("": the
	// visitor's own); Orgs are those the visitor owns, to choose from.
	Org  string
	Orgs []string
}

// fold folds a package name as the registry keys it (nil: as written).
func (h *Handler) fold() func(trove.Ecosystem, string) string {
	if h.o.Registry == nil {
		return nil
	}
	return h.o.Registry.Key
}

// readAudit reads one page of entries for the query (q.User already
// resolved into the filter by the caller); base is the page's path.
func (h *Handler) readAudit(r *http.Request, q audit.Query, base string, keep url.Values) (auditView, error) {
	av := auditView{Query: keep, Outcomes: audit.Outcomes}
	es, err := h.o.AuditLog.AuditEntries(r.Context(), q.Filter, auditPageSize+1)
	if err != nil {
		return av, err
	}
	av.Entries = es
	if len(es) > auditPageSize {
		av.Entries = es[:auditPageSize]
		next := url.Values{}
		for k, v := range keep {
			if k != "before" && len(v) > 0 && v[0] != "" {
				next.Set(k, v[0])
			}
		}
		next.Set("before", strconv.FormatInt(av.Entries[auditPageSize-1].ID, 10))
		av.Next = template.URL(base + "?" + next.Encode()) // built here from escaped values
	}
	return av, nil
}

// accountAudit serves GET /-/account/audit?before=ID: the visitor's own
// audit entries, newest first; with org=NAME, for an owner of the
// organisation, the entries on its packages and its settings.
func (h *Handler) accountAudit(w http.ResponseWriter, r *http.Request, v *Visit) error {
	av := accountView{Tab: "audit"}
	if h.o.AuditLog == nil {
		av.Audit.Off = true
		h.accountPage(w, r, http.StatusOK, v, av)
		return nil
	}
	keep := url.Values{"before": r.URL.Query()["before"]}
	org := r.URL.Query().Get("org")
	if org != "" {
		keep.Set("org", org)
	}
	q, err := audit.ParseQuery(url.Values{"before": keep["before"]}, nil)
	if err != nil {
		return err
	}
	who := sessionPrincipal(v)
	switch {
	case org == "":
		q.Filter.UserID = v.User.ID
	case h.o.Registry == nil:
		return trove.Error(trove.ErrNotFound, "this server has no organisations")
	default:
		// An organisation's owners read the entries on its packages and
		// its own routes (the API's, where organisations are managed),
		// whoever made them.
		if q.Filter.Scope, err = h.o.Registry.OrgAuditScope(r.Context(), who, org); err != nil {
			return err
		}
	}
	if av.Audit, err = h.readAudit(r, q, "/-/account/audit", keep); err != nil {
		return err
	}
	av.Audit.Org = org
	if h.o.Registry != nil && who != nil {
		orgs, err := h.o.Registry.Orgs(r.Context(), who)
		if err != nil {
			return err
		}
		for _, g := range orgs {
			if g.Role == "owner" {
				av.Audit.Orgs = append(av.Audit.Orgs, g.Name)
			}
		}
	}
	h.accountPage(w, r, http.StatusOK, v, av)
	return nil
}

// adminAudit serves GET /-/admin/audit?user=&package=&action=&outcome=
// &since=&until=&before=: every account's audit entries, filtered.
func (h *Handler) adminAudit(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	if h.o.AuditLog == nil {
		h.page(w, r, http.StatusOK, "adminaudit", auditView{Off: true})
		return nil
	}
	keep := url.Values{}
	for _, k := range []string{"user", "package", "action", "outcome", "since", "until", "before"} {
		if s := r.URL.Query().Get(k); s != "" {
			keep.Set(k, s)
		}
	}
	q, err := audit.ParseQuery(keep, h.fold())
	if err != nil {
		return err
	}
	if q.User != "" {
		// Deleted accounts' entries stay, so their names are looked up too.
		u, err := h.o.Users.Any(r.Context(), q.User)
		if errors.Is(err, trove.ErrNotFound) {
			return trove.Error(trove.ErrNotFound, "no account %q", q.User)
		}
		if err != nil {
			return err
		}
		q.Filter.UserID = u.ID
	}
	av, err := h.readAudit(r, q, "/-/admin/audit", keep)
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "adminaudit", av)
	return nil
}
