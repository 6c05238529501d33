package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
)

// An exception is an administrator's upstream exception for a name, as
// the API shows it: public, like every decision about what is served.
type exception struct {
	Ecosystem string    `json:"ecosystem"`
	Name      string    `json:"name"`
	As        string    `json:"as"` // "local" or "upstream"
	Reason    string    `json:"reason"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

func (h *Handler) exceptions(w http.ResponseWriter, r *http.Request, _ request) error {
	es, err := h.o.Registry.Exceptions(r.Context())
	if err != nil {
		return err
	}
	out := make([]exception, 0, len(es))
	for _, e := range es {
		out = append(out, exception{Ecosystem: string(e.Ecosystem), Name: string(e.Name), As: e.Kind, Reason: e.Reason, By: e.CreatedBy, At: e.CreatedAt})
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string][]exception{"exceptions": out})
}

// except records an exception: PUT {"as": "local"|"upstream", "reason": …}.
func (h *Handler) except(w http.ResponseWriter, r *http.Request, req request) error {
	p := access.PrincipalFrom(r.Context())
	if err := p.CheckAdmin(access.Publish); err != nil {
		return err
	}
	var body struct {
		As     string `json:"as"`
		Reason string `json:"reason"`
	}
	if err := readJSON(r, &body); errors.Is(err, trove.ErrTooLarge) {
		return err
	} else if err != nil || body.As != "local" && body.As != "upstream" {
		return trove.Error(trove.ErrInvalid, `the body must be JSON like {"as": "local", "reason": "…"}: "as" is local (a deliberate fork of an upstream name, published here) or upstream (served from upstreams although its namespace is local)`)
	}
	t := req.target
	if err := h.o.Registry.Except(r.Context(), p.UserName, t.Ecosystem, t.Name, body.As, body.Reason); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// unexcept removes an exception.
func (h *Handler) unexcept(w http.ResponseWriter, r *http.Request, req request) error {
	p := access.PrincipalFrom(r.Context())
	if err := p.CheckAdmin(access.Publish); err != nil {
		return err
	}
	why, err := reason(r)
	if err != nil {
		return err
	}
	t := req.target
	if err := h.o.Registry.Except(r.Context(), p.UserName, t.Ecosystem, t.Name, "", why); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
