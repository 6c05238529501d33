package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Roles on packages, organisations and teams (docs/roles.md):
//
//	GET    /v1/packages/{eco}/{name}/access                 {"private", "org", "users": [{"name", "role"}], "teams": […]}
//	PUT    /v1/packages/{eco}/{name}/access                 {"private": true}: make the package private (false: public); owners
//	PUT    /v1/packages/{eco}/{name}/access/users/{user}    {"role": "maintainer"}: grant a user a role
//	DELETE /v1/packages/{eco}/{name}/access/users/{user}    remove the user's grant
//	PUT    /v1/packages/{eco}/{name}/access/teams/{team}    {"role": …}: grant a team of the package's organisation a role
//	DELETE /v1/packages/{eco}/{name}/access/teams/{team}    remove the team's grant
//	GET    /v1/packages/{eco}/{name}/review                 the inactivity review: {"inactive_after_days", "people": [{"user", "role", "via", "last_active", "inactive"}]} (owners)
//	POST   /v1/packages/{eco}/{name}/transfer               {"org": "acme"} or {"user": "alice"} (out of its organisation, to yourself)
//	GET    /v1/orgs                                         your organisations: {"orgs": [{"name", "role"}]}
//	POST   /v1/orgs                                         {"name": "acme"}: create one; you are its owner
//	GET    /v1/orgs/{org}                                   {"name", "private", "members", "invitations", "teams"} (members only)
//	PUT    /v1/orgs/{org}/private                           {"private": true}: the organisation's new packages start private (owners)
//	GET    /v1/orgs/{org}/review                            the inactivity review of its members (owners)
//	PUT    /v1/orgs/{org}/members/{user}                    {"role": …}: change a member's role
//	DELETE /v1/orgs/{org}/members/{user}                    remove a member (or leave: your own name)
//	PUT    /v1/orgs/{org}/invitations/{user}                {"role": …}: invite a user
//	GET    /v1/invitations                                  your pending invitations
//	PUT    /v1/invitations/{org}                            accept an invitation
//	DELETE /v1/invitations/{org}                            decline it
//	PUT    /v1/orgs/{org}/teams/{team}                      create a team
//	DELETE /v1/orgs/{org}/teams/{team}                      delete a team
//	PUT    /v1/orgs/{org}/teams/{team}/members/{user}       add a member to a team
//	DELETE /v1/orgs/{org}/teams/{team}/members/{user}       remove them
//
// Everything but reading a package's access needs a token with the owners
// action; changes need the role owner on the package or organisation.

// unescape path-unescapes each part, refusing empty ones.
func unescape(parts ...string) ([]string, bool) {
	out := make([]string, len(parts))
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil || s == "" {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// parseAccess parses v1/packages/{eco}/{name}/access[/users|teams/{x}] and
// v1/packages/{eco}/{name}/transfer.
func parseAccess(parts []string) (request, bool) {
	p, ok := unescape(parts[2:]...)
	if !ok {
		return request{}, false
	}
	req := request{target: trove.Target{Ecosystem: trove.Ecosystem(p[0]), Name: p[1]}}
	switch {
	case len(p) == 3 && p[2] == "transfer":
		req.op = "transfer"
	case len(p) == 3 && p[2] == "access":
		req.op = "access"
	case len(p) == 3 && p[2] == "review":
		req.op = "review"
	case len(p) == 5 && p[2] == "access" && p[3] == "users":
		req.op, req.user = "access.user", p[4]
	case len(p) == 5 && p[2] == "access" && p[3] == "teams":
		req.op, req.team = "access.team", p[4]
	default:
		return request{}, false
	}
	return req, true
}

// parseOrgs parses v1/orgs… and v1/invitations….
func parseOrgs(parts []string) (request, bool) {
	p, ok := unescape(parts[1:]...)
	if !ok {
		return request{}, false
	}
	switch {
	case len(p) == 1 && p[0] == "orgs":
		return request{op: "orgs"}, true
	case len(p) == 1 && p[0] == "invitations":
		return request{op: "invitations"}, true
	case len(p) == 2 && p[0] == "invitations":
		return request{op: "invitation", org: p[1]}, true
	case len(p) == 2 && p[0] == "orgs":
		return request{op: "org", org: p[1]}, true
	case len(p) == 3 && p[0] == "orgs" && p[2] == "review":
		return request{op: "org.review", org: p[1]}, true
	case len(p) == 3 && p[0] == "orgs" && p[2] == "private":
		return request{op: "org.private", org: p[1]}, true
	case len(p) == 4 && p[0] == "orgs" && p[2] == "members":
		return request{op: "org.member", org: p[1], user: p[3]}, true
	case len(p) == 4 && p[0] == "orgs" && p[2] == "invitations":
		return request{op: "org.invitation", org: p[1], user: p[3]}, true
	case len(p) == 4 && p[0] == "orgs" && p[2] == "teams":
		return request{op: "org.team", org: p[1], team: p[3]}, true
	case len(p) == 6 && p[0] == "orgs" && p[2] == "teams" && p[4] == "members":
		return request{op: "org.team.member", org: p[1], team: p[3], user: p[5]}, true
	}
	return request{}, false
}

func (h *Handler) orgRoutes() []adapter.Entry[string, request] {
	get, put, post, del := http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete
	route := adapter.NewRoute
	const pkg, cred = "/v1/packages/{ecosystem}/{name}", adapter.Credential
	return []adapter.Entry[string, request]{
		{Route: route("access", get, pkg+"/access", adapter.Open), Kind: "access", Serve: h.access},
		{Route: route("access.set", put, pkg+"/access", cred), Kind: "access", Serve: h.setAccess},
		{Route: route("access.user.grant", put, pkg+"/access/users/{user}", cred), Kind: "access.user", Serve: h.grantUser},
		{Route: route("access.user.revoke", del, pkg+"/access/users/{user}", cred), Kind: "access.user", Serve: h.grantUser},
		{Route: route("access.team.grant", put, pkg+"/access/teams/{team}", cred), Kind: "access.team", Serve: h.grantTeam},
		{Route: route("access.team.revoke", del, pkg+"/access/teams/{team}", cred), Kind: "access.team", Serve: h.grantTeam},
		{Route: route("transfer", post, pkg+"/transfer", cred), Kind: "transfer", Serve: h.transfer},
		{Route: route("review", get, pkg+"/review", cred), Kind: "review", Serve: h.reviewPackage},
		{Route: route("orgs.list", get, "/v1/orgs", cred), Kind: "orgs", Serve: h.listOrgs},
		{Route: route("orgs.create", post, "/v1/orgs", cred), Kind: "orgs", Serve: h.createOrg},
		{Route: route("org", get, "/v1/orgs/{org}", cred), Kind: "org", Serve: h.org},
		{Route: route("org.review", get, "/v1/orgs/{org}/review", cred), Kind: "org.review", Serve: h.reviewOrg},
		{Route: route("org.private", put, "/v1/orgs/{org}/private", cred), Kind: "org.private", Serve: h.setOrgPrivate},
		{Route: route("org.member.set", put, "/v1/orgs/{org}/members/{user}", cred), Kind: "org.member", Serve: h.setMember},
		{Route: route("org.member.remove", del, "/v1/orgs/{org}/members/{user}", cred), Kind: "org.member", Serve: h.removeMember},
		{Route: route("org.invite", put, "/v1/orgs/{org}/invitations/{user}", cred), Kind: "org.invitation", Serve: h.invite},
		{Route: route("invitations", get, "/v1/invitations", cred), Kind: "invitations", Serve: h.invitations},
		{Route: route("invitation.accept", put, "/v1/invitations/{org}", cred), Kind: "invitation", Serve: h.answer},
		{Route: route("invitation.decline", del, "/v1/invitations/{org}", cred), Kind: "invitation", Serve: h.answer},
		{Route: route("org.team.create", put, "/v1/orgs/{org}/teams/{team}", cred), Kind: "org.team", Serve: h.team},
		{Route: route("org.team.delete", del, "/v1/orgs/{org}/teams/{team}", cred), Kind: "org.team", Serve: h.team},
		{Route: route("org.team.member.add", put, "/v1/orgs/{org}/teams/{team}/members/{user}", cred), Kind: "org.team.member", Serve: h.teamMember},
		{Route: route("org.team.member.remove", del, "/v1/orgs/{org}/teams/{team}/members/{user}", cred), Kind: "org.team.member", Serve: h.teamMember},
	}
}

// grant is a user's or a team's role as the API shows it.
type grant struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func grants(gs []trove.Grant) []grant {
	out := make([]grant, 0, len(gs))
	for _, g := range gs {
		out = append(out, grant(g))
	}
	return out
}

func ok(w http.ResponseWriter) error {
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// role reads a body {"role": "..."}; DELETE means "none".
func role(r *http.Request) (string, error) {
	if r.Method == http.MethodDelete {
		return "none", nil
	}
	var body struct {
		Role string `json:"role"`
	}
	if err := readJSON(r, &body); err != nil {
		return "", err
	}
	if body.Role == "" {
		return "", trove.Error(trove.ErrInvalid, "the request body needs a role: {\"role\": \"owner\"}, \"maintainer\" or \"reader\"")
	}
	return body.Role, nil
}

// access answers who may do what with a package, and whether it is
// private. A private package the caller may not read is not found, like a
// name never published (registry.CanRead).
func (h *Handler) access(w http.ResponseWriter, r *http.Request, req request) error {
	a, err := h.o.Registry.Access(r.Context(), req.target.Ecosystem, req.target.Name)
	if err != nil {
		return err
	}
	private, err := h.o.Registry.Private(r.Context(), req.target.Ecosystem, req.target.Name)
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"private": private, "org": a.Org, "users": grants(a.Users), "teams": grants(a.Teams)})
}

// privateBody reads a body {"private": true|false}.
func privateBody(r *http.Request) (bool, error) {
	var body struct {
		Private *bool `json:"private"`
	}
	if err := readJSON(r, &body); err != nil {
		return false, err
	}
	if body.Private == nil {
		return false, trove.Error(trove.ErrInvalid, `the request body needs {"private": true} or {"private": false}`)
	}
	return *body.Private, nil
}

// setAccess makes a package private or public (its owners).
func (h *Handler) setAccess(w http.ResponseWriter, r *http.Request, req request) error {
	private, err := privateBody(r)
	if err != nil {
		return err
	}
	if err := h.o.Registry.SetPrivate(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name, private); err != nil {
		return err
	}
	// Not read again: an owner's token without read-private makes a
	// package private and may then not read it.
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"ecosystem": req.target.Ecosystem, "name": req.target.Name, "private": private})
}

// setOrgPrivate sets whether an organisation's new packages start private
// (its owners).
func (h *Handler) setOrgPrivate(w http.ResponseWriter, r *http.Request, req request) error {
	private, err := privateBody(r)
	if err != nil {
		return err
	}
	if err := h.o.Registry.SetOrgPrivate(r.Context(), access.PrincipalFrom(r.Context()), req.org, private); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"name": req.org, "private": private})
}

func (h *Handler) grantUser(w http.ResponseWriter, r *http.Request, req request) error {
	ro, err := role(r)
	if err != nil {
		return err
	}
	return h.changeOwner(w, r, req, registry.Grant{User: req.user, Role: ro})
}

func (h *Handler) grantTeam(w http.ResponseWriter, r *http.Request, req request) error {
	ro, err := role(r)
	if err != nil {
		return err
	}
	return h.changeOwner(w, r, req, registry.TeamGrant{Team: req.team, Role: ro})
}

func (h *Handler) transfer(w http.ResponseWriter, r *http.Request, req request) error {
	var body struct {
		Org  string `json:"org"`
		User string `json:"user"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	return h.changeOwner(w, r, req, registry.Transfer{Org: body.Org, User: body.User})
}

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request, _ request) error {
	gs, err := h.o.Registry.Orgs(r.Context(), access.PrincipalFrom(r.Context()))
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string][]grant{"orgs": grants(gs)})
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, _ request) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	o, err := h.o.Registry.CreateOrg(r.Context(), access.PrincipalFrom(r.Context()), body.Name)
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{"name": o.Name})
}

// An invitation is an invitation as the API shows it.
type invitation struct {
	Org       string `json:"org"`
	User      string `json:"user"`
	Role      string `json:"role"`
	InvitedBy string `json:"invited_by"`
	Expires   string `json:"expires"`
}

func invitations(is []trove.Invitation) []invitation {
	out := make([]invitation, 0, len(is))
	for _, i := range is {
		out = append(out, invitation{Org: i.Org, User: i.User, Role: i.Role, InvitedBy: i.InvitedBy, Expires: i.ExpiresAt.Format("2006-01-02T15:04:05Z")})
	}
	return out
}

func (h *Handler) org(w http.ResponseWriter, r *http.Request, req request) error {
	v, err := h.o.Registry.Org(r.Context(), access.PrincipalFrom(r.Context()), req.org)
	if err != nil {
		return err
	}
	type team struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	teams := make([]team, 0, len(v.Teams))
	for _, t := range v.Teams {
		teams = append(teams, team{Name: t.Name, Members: append([]string{}, t.Members...)})
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"name": v.Org.Name, "private": v.Org.PrivateDefault, "members": grants(v.Members),
		"invitations": invitations(v.Invitations), "teams": teams})
}

func (h *Handler) setMember(w http.ResponseWriter, r *http.Request, req request) error {
	ro, err := role(r)
	if err != nil {
		return err
	}
	if err := h.o.Registry.SetMemberRole(r.Context(), access.PrincipalFrom(r.Context()), req.org, req.user, ro); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.o.Registry.RemoveMember(r.Context(), access.PrincipalFrom(r.Context()), req.org, req.user); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request, req request) error {
	ro, err := role(r)
	if err != nil {
		return err
	}
	if err := h.o.Registry.Invite(r.Context(), access.PrincipalFrom(r.Context()), req.org, req.user, ro); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) invitations(w http.ResponseWriter, r *http.Request, _ request) error {
	is, err := h.o.Registry.Invitations(r.Context(), access.PrincipalFrom(r.Context()))
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string][]invitation{"invitations": invitations(is)})
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.o.Registry.Answer(r.Context(), access.PrincipalFrom(r.Context()), req.org, r.Method == http.MethodPut); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) team(w http.ResponseWriter, r *http.Request, req request) error {
	who := access.PrincipalFrom(r.Context())
	var err error
	if r.Method == http.MethodPut {
		err = h.o.Registry.CreateTeam(r.Context(), who, req.org, req.team)
	} else {
		err = h.o.Registry.DeleteTeam(r.Context(), who, req.org, req.team)
	}
	if err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) teamMember(w http.ResponseWriter, r *http.Request, req request) error {
	err := h.o.Registry.SetTeamMember(r.Context(), access.PrincipalFrom(r.Context()), req.org, req.team, req.user, r.Method == http.MethodPut)
	if err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) reviewPackage(w http.ResponseWriter, r *http.Request, req request) error {
	rv, err := h.o.Registry.ReviewPackage(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name)
	if err != nil {
		return err
	}
	return writeReview(w, rv)
}

func (h *Handler) reviewOrg(w http.ResponseWriter, r *http.Request, req request) error {
	rv, err := h.o.Registry.ReviewOrg(r.Context(), access.PrincipalFrom(r.Context()), req.org)
	if err != nil {
		return err
	}
	return writeReview(w, rv)
}

// writeReview writes an inactivity review: inactive_after in whole days
// (0: the review is off), each person's last activity in RFC 3339.
func writeReview(w http.ResponseWriter, rv *registry.Review) error {
	type person struct {
		User       string `json:"user"`
		Role       string `json:"role"`
		Via        string `json:"via"`
		LastActive string `json:"last_active"`
		Inactive   bool   `json:"inactive"`
	}
	people := make([]person, 0, len(rv.People))
	for _, p := range rv.People {
		people = append(people, person{User: p.User, Role: p.Role, Via: p.Via, LastActive: p.LastActive.UTC().Format(time.RFC3339), Inactive: p.Inactive})
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"inactive_after_days": int(rv.InactiveAfter / (24 * time.Hour)), "people": people})
}
