package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// An AuditLog reads the audit log and the accounts it names (meta.DB).
type AuditLog interface {
	// AuditEntries returns up to limit entries that pass f, newest first.
	AuditEntries(ctx context.Context, f meta.AuditFilter, limit int) ([]*meta.AuditEntry, error)
	// UserByName returns the account with the name (deleted ones too),
	// or meta.ErrNotFound.
	UserByName(ctx context.Context, name string) (*trove.User, error)
}

// An AuditEntry is an audit entry as the API shows it (and the trove
// commands print it).
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	User       string    `json:"user"`
	Credential string    `json:"credential"`
	Client     string    `json:"client"`
	Action     string    `json:"action"`
	Target     string    `json:"target"`
	Outcome    string    `json:"outcome"`
	Status     int       `json:"status"`
	Count      int       `json:"count"`
	Detail     string    `json:"detail,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
}

// auditEntries answers GET /v1/audit: the caller's own entries; with
// org=NAME, for an owner of that organisation, the entries on its packages
// and its own routes; or, for an administrator's token with the tokens
// action on every package and all=true or user=NAME, anyone's. The query
// is audit.Query's.
func (h *Handler) auditEntries(w http.ResponseWriter, r *http.Request, _ request) error {
	p := access.PrincipalFrom(r.Context())
	switch {
	case p == nil:
		return fmt.Errorf("%w: reading the audit log needs an API token", access.ErrUnauthenticated)
	case !p.Can(access.ManageTokens):
		return fmt.Errorf("%w: reading the audit log needs a token with the tokens action (sign in again with your password, or use a token created with --action tokens)", access.ErrDenied)
	case h.o.Audit == nil:
		return trove.Error(trove.ErrUnsupported, "this server does not serve its audit log")
	}
	q, err := audit.ParseQuery(r.URL.Query(), h.fold)
	if err != nil {
		return err
	}
	all := r.URL.Query().Get("all") == "true"
	if org := r.URL.Query().Get("org"); org != "" {
		// An organisation's owners read the entries on its packages and
		// its own routes, whoever made them.
		if all || q.User != "" {
			return trove.Error(trove.ErrInvalid, "org= reads an organisation's entries: leave out all= and user=")
		}
		if h.o.Registry == nil {
			return trove.Error(trove.ErrUnsupported, "this server has no organisations")
		}
		if q.Filter.Scope, err = h.o.Registry.OrgAuditScope(r.Context(), p, org); err != nil {
			return err
		}
		all = true
	} else if (all || q.User != "" && q.User != p.UserName) && p.CheckAdmin(access.ManageTokens) != nil {
		return fmt.Errorf("%w: only administrators (with a token that has the tokens action on every package) read other accounts' entries; leave out all= and user= to read your own", access.ErrDenied)
	}
	switch {
	case q.User != "":
		u, err := h.o.Audit.UserByName(r.Context(), q.User)
		if errors.Is(err, meta.ErrNotFound) {
			return trove.Error(trove.ErrNotFound, "no account %q", q.User)
		}
		if err != nil {
			return err
		}
		q.Filter.UserID = u.ID
	case !all:
		q.Filter.UserID = p.UserID
	}
	es, err := h.o.Audit.AuditEntries(r.Context(), q.Filter, q.Limit)
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string][]AuditEntry{"entries": AuditEntries(es)})
}

// AuditEntries returns the entries as the API shows them.
func AuditEntries(es []*meta.AuditEntry) []AuditEntry {
	out := make([]AuditEntry, 0, len(es))
	for _, e := range es {
		out = append(out, AuditEntry{ID: e.ID, At: e.At, User: e.UserName, Credential: e.Credential, Client: e.Client, Action: e.Action,
			Target: e.Target, Outcome: e.Outcome, Status: e.Status, Count: e.Count, Detail: e.Detail, RequestID: e.RequestID})
	}
	return out
}

// fold folds a package name as the registry keys it.
func (h *Handler) fold(eco trove.Ecosystem, name string) string {
	return h.o.Registry.Key(eco, name)
}
