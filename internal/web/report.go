package web

import (
	"net/http"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// maxQueryField bounds what the report form takes from its query.
const maxQueryField = 1024

// reportView is the report page: the form, or what was reported.
type reportView struct {
	Ecosystem, Name, Version string
	Categories               []string
	MaxReason                int
	Done                     bool
}

// reportPage serves the report form, filled in from the query (the
// package page's link). It reads nothing: whether the package exists is
// for the submission to say, as the API does.
func (h *Handler) reportPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	q := r.URL.Query()
	field := func(k string) string {
		if s := q.Get(k); len(s) <= maxQueryField {
			return s
		}
		return ""
	}
	h.page(w, r, http.StatusOK, "report", reportView{Ecosystem: field("ecosystem"), Name: field("name"), Version: field("version"),
		Categories: registry.ReportCategories, MaxReason: registry.MaxReportReason})
	return nil
}

// reportSubmit files the signed-in user's report (registry.Report: its
// checks, limits and private-package rule, as through the API).
func (h *Handler) reportSubmit(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Registry == nil {
		h.notFound(w, r)
		return nil
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	in := registry.ReportInput{Target: trove.Target{Ecosystem: trove.Ecosystem(r.PostForm.Get("ecosystem")), Name: r.PostForm.Get("name"),
		Version: r.PostForm.Get("version")}, Category: r.PostForm.Get("category"), Reason: r.PostForm.Get("reason")}
	if in.Target.Ecosystem == "" || in.Target.Name == "" {
		return trove.Error(trove.ErrInvalid, "a report names the ecosystem and the package; nothing was reported")
	}
	if err := h.o.Registry.Report(r.Context(), sessionPrincipal(v), in); err != nil {
		return err
	}
	h.page(w, r, http.StatusCreated, "report", reportView{Ecosystem: string(in.Target.Ecosystem), Name: in.Target.Name, Version: in.Target.Version, Done: true})
	return nil
}
