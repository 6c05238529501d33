package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// deleteView is the confirmation page of an account's deletion.
type deleteView struct {
	C     *account.Consequences
	Heir  string
	Error string
}

// adminDeletePage serves GET /-/admin/users/{name}/delete?heir=NAME: what
// deleting the account does, and the form that does it. A deletion that
// would be refused says why instead, and offers no form.
func (h *Handler) adminDeletePage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Deletions == nil {
		return trove.Error(trove.ErrNotFound, "this server does not delete accounts from the web interface")
	}
	heir := r.URL.Query().Get("heir")
	c, err := h.o.Deletions.Plan(r.Context(), account.Deletion{User: r.PathValue("name"), By: v.User, Heir: heir})
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "admindelete", deleteView{C: c, Heir: heir})
	return nil
}

// adminDelete serves POST /-/admin/users/{name}/delete: confirm must
// repeat the account's name; heir optionally names who takes the
// packages the account is the only owner of.
func (h *Handler) adminDelete(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Deletions == nil {
		return trove.Error(trove.ErrNotFound, "this server does not delete accounts from the web interface")
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	name := strings.ToLower(r.PathValue("name"))
	del := account.Deletion{User: name, By: v.User, Heir: strings.TrimSpace(r.PostForm.Get("heir")), Client: clientOf(r)}
	if strings.ToLower(strings.TrimSpace(r.PostForm.Get("confirm"))) != name {
		c, err := h.o.Deletions.Plan(r.Context(), del)
		if err != nil {
			return err
		}
		h.page(w, r, http.StatusBadRequest, "admindelete", deleteView{C: c, Heir: del.Heir,
			Error: "type the account's name, " + name + ", to confirm; nothing was deleted"})
		return nil
	}
	if _, err := h.o.Deletions.Delete(r.Context(), del); err != nil {
		return err
	}
	return redirect(w, r, "/-/admin/users?done=delete")
}

// adminEventsPageSize is how many events one page of the administrators'
// view shows.
const adminEventsPageSize = 50

// eventsView is the administrators' view of security events.
type eventsView struct {
	Events       []*meta.SecurityEvent
	User, Kind   string
	Kinds        []account.EventKind
	Next         template.URL // the next (older) page; "" on the last
	NotRecording bool
}

// adminEvents serves GET /-/admin/events?user=NAME&kind=KIND&before=ID:
// security events of every account, newest first.
func (h *Handler) adminEvents(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	q := r.URL.Query()
	ev := eventsView{User: strings.ToLower(strings.TrimSpace(q.Get("user"))), Kind: q.Get("kind"), Kinds: account.EventKinds, NotRecording: h.o.AllEvents == nil}
	if h.o.AllEvents == nil {
		h.page(w, r, http.StatusOK, "adminevents", ev)
		return nil
	}
	f := meta.EventFilter{Kind: ev.Kind}
	if ev.Kind != "" && !validKind(ev.Kind) {
		return trove.Error(trove.ErrInvalid, "no event kind %q: choose one from the list", ev.Kind)
	}
	if ev.User != "" {
		// Deleted accounts' events stay, so their names are looked up too.
		u, err := h.o.Users.Any(r.Context(), ev.User)
		if errors.Is(err, trove.ErrNotFound) {
			return trove.Error(trove.ErrNotFound, "no account %q", ev.User)
		}
		if err != nil {
			return err
		}
		f.UserID = u.ID
	}
	if b := q.Get("before"); b != "" {
		id, err := strconv.ParseInt(b, 10, 64)
		if err != nil || id <= 0 {
			return trove.Error(trove.ErrInvalid, "before=%q is not an event number", b)
		}
		f.Before = id
	}
	evs, err := h.o.AllEvents.Recent(r.Context(), f, adminEventsPageSize+1)
	if err != nil {
		return err
	}
	ev.Events = evs
	if len(evs) > adminEventsPageSize {
		ev.Events = evs[:adminEventsPageSize]
		next := url.Values{"before": {strconv.FormatInt(ev.Events[adminEventsPageSize-1].ID, 10)}}
		if ev.User != "" {
			next.Set("user", ev.User)
		}
		if ev.Kind != "" {
			next.Set("kind", ev.Kind)
		}
		ev.Next = template.URL("/-/admin/events?" + next.Encode()) // built here from escaped values
	}
	h.page(w, r, http.StatusOK, "adminevents", ev)
	return nil
}

func validKind(k string) bool {
	for _, known := range account.EventKinds {
		if string(known) == k {
			return true
		}
	}
	return false
}
