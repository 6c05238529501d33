package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/curate"
	"github.com/trove-dev/trove/internal/trove"
)

// Curation of upstream versions (internal/curate), for administrators and
// curators with a token carrying the curate action. PATTERN is a package
// name, a pattern with '*' (path-escaped), or * for the whole ecosystem.
//
//	GET    /v1/curation/ECOSYSTEM/PATTERN          → {"policies": […], "marks": […], "effective": {…} (for a name)}
//	PUT    /v1/curation/ECOSYSTEM/PATTERN/policy   {"mode", "min_age", "install_scripts", "why"} → {"policy": …}
//	POST   /v1/curation/ECOSYSTEM/PATTERN/marks    {"kind", "versions", "tag", "why"} → {"mark": …}
//	DELETE /v1/curation/ECOSYSTEM/PATTERN/marks    {"kind", "versions", "tag", "why"} → {"ok": true}
//
// A policy's settings that a request leaves out are kept; "inherit"
// removes one. kind is allow, deny, malicious or tag (tag: approved by
// default, on one version).

// parseCuration parses /v1/curation/… paths (parts after the split).
func parseCuration(parts []string) (request, bool) {
	if len(parts) < 4 || len(parts) > 5 {
		return request{}, false
	}
	pattern, err := url.PathUnescape(parts[3])
	if err != nil || pattern == "" || parts[2] == "" {
		return request{}, false
	}
	req := request{op: "curation", target: trove.Target{Ecosystem: trove.Ecosystem(parts[2]), Name: pattern}}
	if len(parts) == 5 {
		switch parts[4] {
		case "policy":
			req.op = "curation.policy"
		case "marks":
			req.op = "curation.marks"
		default:
			return request{}, false
		}
	}
	return req, true
}

// curationRoutes are the curation endpoints of the route table.
func (h *Handler) curationRoutes() adapter.Table[string, request] {
	const base, cred = "/v1/curation/{ecosystem}/{pattern}", adapter.Credential
	route := adapter.NewRoute
	return adapter.Table[string, request]{
		{Route: route("curation.show", http.MethodGet, base, cred), Kind: "curation", Serve: h.curationShow},
		{Route: route("curation.policy", http.MethodPut, base+"/policy", cred), Kind: "curation.policy", Serve: h.curationPolicy},
		{Route: route("curation.mark", http.MethodPost, base+"/marks", cred), Kind: "curation.marks", Serve: h.curationMark},
		{Route: route("curation.unmark", http.MethodDelete, base+"/marks", cred), Kind: "curation.marks", Serve: h.curationMark},
	}
}

// curator returns the curation service, or ErrUnsupported without one.
func (h *Handler) curator() (*curate.Service, error) {
	if h.o.Curate == nil {
		return nil, trove.Error(trove.ErrUnsupported, "curation is not enabled on this server")
	}
	return h.o.Curate, nil
}

// A Policy is a curation policy as the API shows it.
type Policy struct {
	Ecosystem      string    `json:"ecosystem"`
	Pattern        string    `json:"pattern"`
	Mode           string    `json:"mode"`
	MinAge         string    `json:"min_age"`
	InstallScripts string    `json:"install_scripts"`
	Why            string    `json:"why"`
	SetBy          string    `json:"set_by"`
	SetAt          time.Time `json:"set_at"`
}

// A Mark is a curator's mark as the API shows it.
type Mark struct {
	Ecosystem string    `json:"ecosystem"`
	Name      string    `json:"name"`
	Versions  string    `json:"versions"`
	Kind      string    `json:"kind"`
	Tag       string    `json:"tag,omitempty"`
	Why       string    `json:"why"`
	SetBy     string    `json:"set_by"`
	SetAt     time.Time `json:"set_at"`
}

// Effective are a package's settings and the policy each comes from.
type Effective struct {
	Mode           string `json:"mode"`
	ModeFrom       string `json:"mode_from,omitempty"`
	MinAge         string `json:"min_age"`
	MinAgeFrom     string `json:"min_age_from,omitempty"`
	InstallScripts string `json:"install_scripts"`
	ScriptsFrom    string `json:"install_scripts_from,omitempty"`
}

// A CurationView is the answer of GET /v1/curation/….
type CurationView struct {
	Policies  []Policy   `json:"policies"`
	Marks     []Mark     `json:"marks"`
	Effective *Effective `json:"effective,omitempty"`
}

func policyOf(p curate.Policy) Policy {
	out := Policy{Ecosystem: string(p.Ecosystem), Pattern: p.Pattern, Mode: orInherit(p.Mode), MinAge: "inherit",
		InstallScripts: orInherit(p.Scripts), Why: p.Why, SetBy: p.SetBy, SetAt: p.SetAt}
	if p.MinAge >= 0 {
		out.MinAge = p.MinAge.String()
	}
	return out
}

func markOf(m curate.Mark) Mark {
	return Mark{Ecosystem: string(m.Ecosystem), Name: m.Name, Versions: m.Versions, Kind: m.Kind, Tag: m.Tag, Why: m.Why, SetBy: m.SetBy, SetAt: m.SetAt}
}

func orInherit(s string) string {
	if s == "" {
		return "inherit"
	}
	return s
}

func (h *Handler) curationShow(w http.ResponseWriter, r *http.Request, req request) error {
	c, err := h.curator()
	if err != nil {
		return err
	}
	v, err := c.Show(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name)
	if err != nil {
		return err
	}
	out := CurationView{Policies: []Policy{}, Marks: []Mark{}}
	for _, p := range v.Policies {
		out.Policies = append(out.Policies, policyOf(p))
	}
	for _, m := range v.Marks {
		out.Marks = append(out.Marks, markOf(m))
	}
	if e := v.Effective; e != nil {
		out.Effective = &Effective{Mode: e.Mode, ModeFrom: e.ModeFrom, MinAge: e.MinAge.String(), MinAgeFrom: e.MinAgeFrom,
			InstallScripts: e.Scripts, ScriptsFrom: e.ScriptsFrom}
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) curationPolicy(w http.ResponseWriter, r *http.Request, req request) error {
	c, err := h.curator()
	if err != nil {
		return err
	}
	var body struct {
		Mode           *string `json:"mode"`
		MinAge         *string `json:"min_age"`
		InstallScripts *string `json:"install_scripts"`
		Why            string  `json:"why"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	ch := curate.PolicyChange{Ecosystem: req.target.Ecosystem, Pattern: req.target.Name, Mode: body.Mode, InstallScripts: body.InstallScripts, Why: body.Why}
	if body.MinAge != nil {
		d, err := curate.ParseMinAge(*body.MinAge)
		if err != nil {
			return err
		}
		ch.MinAge = &d
	}
	p, err := c.SetPolicy(r.Context(), access.PrincipalFrom(r.Context()), ch)
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]Policy{"policy": policyOf(*p)})
}

func (h *Handler) curationMark(w http.ResponseWriter, r *http.Request, req request) error {
	c, err := h.curator()
	if err != nil {
		return err
	}
	var body struct {
		Kind     string `json:"kind"`
		Versions string `json:"versions"`
		Tag      string `json:"tag"`
		Why      string `json:"why"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	remove := r.Method == http.MethodDelete
	m, err := c.Mark(r.Context(), access.PrincipalFrom(r.Context()), curate.MarkChange{Ecosystem: req.target.Ecosystem, Name: req.target.Name,
		Versions: body.Versions, Kind: body.Kind, Tag: body.Tag, Why: body.Why, Remove: remove})
	if err != nil {
		return err
	}
	if remove {
		return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]Mark{"mark": markOf(*m)})
}

// readJSON reads a JSON object body of at most maxBodyBytes into v.
func readJSON(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return trove.Error(trove.ErrInvalid, "the request needs a JSON body")
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return trove.Error(trove.ErrInvalid, "the request body is not the JSON object this endpoint takes: %v", err)
	}
	return nil
}
