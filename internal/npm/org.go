package npm

// npm org, npm team and npm access (libnpmorg, libnpmteam, libnpmaccess)
// on Trove's organisations, teams and grants. Every change goes through
// the registry's own methods, which authorize it; these handlers only
// translate npm's requests and answers. See docs/roles.md "npm commands".
//
//	GET    /-/org/O/user                {user: role} (npm org ls)
//	PUT    /-/org/O/user                {user, role}: invite a non-member, or change a member's role (npm org set)
//	DELETE /-/org/O/user                {user}: remove a member (npm org rm)
//	GET    /-/org/O/team                ["O:T", …] (npm team ls O)
//	PUT    /-/org/O/team                {name}: create a team (npm team create)
//	DELETE /-/team/O/T                  delete a team (npm team destroy)
//	GET    /-/team/O/T/user             [user, …] (npm team ls O:T)
//	PUT    /-/team/O/T/user             {user}: add a member to the team (npm team add)
//	DELETE /-/team/O/T/user             {user}: remove them (npm team rm)
//	PUT    /-/team/O/T/package          {package, permissions}: grant the team a role (npm access grant)
//	DELETE /-/team/O/T/package          {package}: revoke it (npm access revoke)
//	GET    /-/org/O/package             {package: read-only|read-write} (npm access list packages O, for its members)
//	GET    /-/user/U/package           {package: read-only|read-write}: the user's own grants (npm access list packages U)
//	GET    /-/team/O/T/package         {package: read-only|read-write}: the team's grants, for O's members (npm access list packages O:T)
//	GET    /-/package/E/collaborators   {user or O:T: read-only|read-write} (npm access list collaborators)
//	GET    /-/package/E/visibility      {"public": true|false} (npm access get status)
//	POST   /-/package/E/access          {access}: private or public (npm access set status); {publish_requires_tfa}: the publishing level (npm access set mfa)

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// maxOrgBody bounds the bodies of the org, team and access requests.
const maxOrgBody = 4 << 10

// npmRoles maps npm's organisation roles to Trove's: an npm admin
// manages members and teams, which on Trove only an owner does.
var npmRoles = map[string]access.Role{
	"developer": access.Maintainer,
	"admin":     access.Owner,
	"owner":     access.Owner,
}

// npmRoleOf names a Trove organisation role the way npm org ls shows it.
func npmRoleOf(role string) string {
	if role == access.Maintainer.String() {
		return "developer"
	}
	return role
}

// readOrgBody decodes a small JSON request body into v.
func readOrgBody(w http.ResponseWriter, r *http.Request, v any, what string) error {
	body, err := adapter.ReadBody(w, r, maxOrgBody, what)
	if err != nil {
		return err
	}
	return decodeJSON(body, v, what)
}

// userField is the {"user": NAME} of npm's org and team requests, with
// npm's optional leading @ or ~ removed.
func userField(u string) (string, error) {
	u = strings.TrimLeft(strings.TrimSpace(u), "@~")
	if u == "" {
		return "", trove.Error(trove.ErrInvalid, `the request names no user: send {"user": NAME}`)
	}
	return u, nil
}

// orgMembers serves GET /-/org/O/user.
func (h *Handler) orgMembers(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "listing an organisation's members")
	if err != nil {
		return err
	}
	v, err := h.o.Registry.Org(r.Context(), who, req.arg)
	if err != nil {
		return err
	}
	out := make(map[string]string, len(v.Members))
	for _, m := range v.Members {
		out[m.Name] = npmRoleOf(m.Role)
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

// setOrgMember serves PUT /-/org/O/user: a member's role changes; anyone
// else is invited, and joins once they accept (trove org accept O).
func (h *Handler) setOrgMember(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "changing an organisation's members")
	if err != nil {
		return err
	}
	var body struct {
		User string `json:"user"`
		Role string `json:"role"`
	}
	if err := readOrgBody(w, r, &body, "the npm org set request"); err != nil {
		return err
	}
	user, err := userField(body.User)
	if err != nil {
		return err
	}
	npmRole := strings.ToLower(strings.TrimSpace(body.Role))
	if npmRole == "" {
		npmRole = "developer"
	}
	role, known := npmRoles[npmRole]
	if !known {
		return trove.Error(trove.ErrInvalid, "unknown organisation role %q: want developer (Trove's maintainer), admin or owner (both Trove's owner)", body.Role)
	}
	ctx := r.Context()
	err = h.o.Registry.Invite(ctx, who, req.arg, user, role.String())
	if errors.Is(err, trove.ErrExists) {
		err = h.o.Registry.SetMemberRole(ctx, who, req.arg, user, role.String())
	}
	if err != nil {
		return err
	}
	v, err := h.o.Registry.Org(ctx, who, req.arg)
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{
		"org":  map[string]any{"name": v.Org.Name, "size": len(v.Members)},
		"user": strings.ToLower(user),
		"role": npmRole,
	})
}

// removeOrgMember serves DELETE /-/org/O/user.
func (h *Handler) removeOrgMember(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "removing a member of an organisation")
	if err != nil {
		return err
	}
	var body struct {
		User string `json:"user"`
	}
	if err := readOrgBody(w, r, &body, "the npm org rm request"); err != nil {
		return err
	}
	user, err := userField(body.User)
	if err != nil {
		return err
	}
	if err := h.o.Registry.RemoveMember(r.Context(), who, req.arg, user); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

// orgTeams serves GET /-/org/O/team.
func (h *Handler) orgTeams(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "listing an organisation's teams")
	if err != nil {
		return err
	}
	v, err := h.o.Registry.Org(r.Context(), who, req.arg)
	if err != nil {
		return err
	}
	out := make([]string, 0, len(v.Teams))
	for _, t := range v.Teams {
		out = append(out, v.Org.Name+":"+t.Name)
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

// createTeam serves PUT /-/org/O/team.
func (h *Handler) createTeam(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "creating a team")
	if err != nil {
		return err
	}
	var body struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := readOrgBody(w, r, &body, "the npm team create request"); err != nil {
		return err
	}
	if err := h.o.Registry.CreateTeam(r.Context(), who, req.arg, body.Name); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusCreated, map[string]string{"name": strings.TrimSpace(body.Name)})
}

// deleteTeam serves DELETE /-/team/O/T.
func (h *Handler) deleteTeam(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "deleting a team")
	if err != nil {
		return err
	}
	if err := h.o.Registry.DeleteTeam(r.Context(), who, req.arg, req.team); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

// teamMembers serves GET /-/team/O/T/user.
func (h *Handler) teamMembers(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "listing a team's members")
	if err != nil {
		return err
	}
	v, err := h.o.Registry.Org(r.Context(), who, req.arg)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(v.Teams, func(t registry.TeamView) bool { return t.Name == req.team })
	if i < 0 {
		return trove.Error(trove.ErrNotFound, "%s has no team %s", v.Org.Name, req.team)
	}
	out := v.Teams[i].Members
	if out == nil {
		out = []string{}
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

// setTeamMember serves PUT and DELETE /-/team/O/T/user.
func (h *Handler) setTeamMember(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "changing a team's members")
	if err != nil {
		return err
	}
	var body struct {
		User string `json:"user"`
	}
	if err := readOrgBody(w, r, &body, "the npm team request"); err != nil {
		return err
	}
	user, err := userField(body.User)
	if err != nil {
		return err
	}
	in := r.Method == http.MethodPut
	if err := h.o.Registry.SetTeamMember(r.Context(), who, req.arg, req.team, user, in); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

// npmPermissions maps npm access's permissions to Trove's package roles.
var npmPermissions = map[string]access.Role{
	"read-only":  access.Reader,
	"read-write": access.Maintainer,
}

// npmPermissionOf names a package role the way npm access lists it.
func npmPermissionOf(role string) string {
	if role == access.Reader.String() {
		return "read-only"
	}
	return "read-write"
}

// teamPackage serves PUT (grant) and DELETE (revoke) /-/team/O/T/package.
// The team must belong to the package's organisation.
func (h *Handler) teamPackage(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "changing a team's access to a package")
	if err != nil {
		return err
	}
	var body struct {
		Package     string `json:"package"`
		Permissions string `json:"permissions"`
	}
	if err := readOrgBody(w, r, &body, "the npm access request"); err != nil {
		return err
	}
	name, err := Rules{}.ParseName(strings.TrimSpace(body.Package))
	if err != nil {
		return trove.Error(trove.ErrInvalid, `the request names no valid package: send {"package": NAME}: %v`, err)
	}
	role := "none"
	if r.Method == http.MethodPut {
		rl, known := npmPermissions[body.Permissions]
		if !known {
			return trove.Error(trove.ErrInvalid, "unknown permissions %q: want read-only (Trove's reader) or read-write (Trove's maintainer)", body.Permissions)
		}
		role = rl.String()
	}
	ctx := r.Context()
	a, err := h.o.Registry.Access(ctx, trove.NPM, string(name))
	if err != nil {
		return err
	}
	if !strings.EqualFold(a.Org, req.arg) {
		if a.Org == "" {
			return trove.Error(trove.ErrInvalid, "%s belongs to no organisation, so no team has roles on it: grant users roles instead (trove access grant), or transfer it to an organisation", name)
		}
		return trove.Error(trove.ErrInvalid, "%s belongs to the organisation %s, not %s: only that organisation's teams have roles on it", name, a.Org, req.arg)
	}
	if err := h.o.Registry.GrantTeam(ctx, who, trove.NPM, string(name), req.team, role); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

// userPackages serves GET /-/user/U/package (npm access list packages
// U, after /-/org/U/package answered 404): the npm packages on which the
// user holds a role of their own, with the permission it gives.
func (h *Handler) userPackages(w http.ResponseWriter, r *http.Request, req request) error {
	prs, err := h.o.Registry.UserPackages(r.Context(), trove.NPM, req.arg)
	if err != nil {
		return err
	}
	return writePackageRoles(w, prs)
}

// teamPackages serves GET /-/team/O/T/package (npm access list packages
// O:T), for the organisation's members: the packages the team holds
// roles on, with the permission each gives.
func (h *Handler) teamPackages(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "listing a team's packages")
	if err != nil {
		return err
	}
	prs, err := h.o.Registry.TeamPackages(r.Context(), who, req.arg, req.team, trove.NPM)
	if err != nil {
		return err
	}
	return writePackageRoles(w, prs)
}

// writePackageRoles answers {package: read-only|read-write}.
func writePackageRoles(w http.ResponseWriter, prs []registry.PackageRole) error {
	out := make(map[string]string, len(prs))
	for _, p := range prs {
		out[string(p.Package.Name)] = npmPermissionOf(p.Role.String())
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

// orgPackages serves GET /-/org/O/package (npm access list packages O):
// the organisation's npm packages, for its members, with the permission
// their role in it gives them.
func (h *Handler) orgPackages(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "listing an organisation's packages")
	if err != nil {
		return err
	}
	pkgs, role, err := h.o.Registry.OrgPackages(r.Context(), who, req.arg, trove.NPM)
	if err != nil {
		return err
	}
	perm := npmPermissionOf(role.String())
	if role == access.NoRole { // an administrator who is not a member
		perm = "read-only"
	}
	out := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		// A private package is listed to those who may read it: every
		// member holds a role, but their token may not carry read-private.
		if err := h.o.Registry.CanRead(r.Context(), trove.NPM, p.Name); isNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		out[string(p.Name)] = perm
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

// collaborators serves GET /-/package/E/collaborators: the users with a
// role on the package, and its organisation's teams as O:T.
func (h *Handler) collaborators(w http.ResponseWriter, r *http.Request, req request) error {
	a, err := h.o.Registry.Access(r.Context(), trove.NPM, string(req.name))
	if err != nil {
		return err
	}
	out := make(map[string]string, len(a.Users)+len(a.Teams))
	for _, g := range a.Users {
		out[g.Name] = npmPermissionOf(g.Role)
	}
	for _, g := range a.Teams {
		out[a.Org+":"+g.Name] = npmPermissionOf(g.Role)
	}
	return adapter.WriteJSON(w, http.StatusOK, out)
}

// visibility serves GET /-/package/E/visibility (npm access get status,
// which prints private for {"public": false}). A private package the
// request may not read is not found, as a name never published.
func (h *Handler) visibility(w http.ResponseWriter, r *http.Request, req request) error {
	v, err := h.o.Registry.View(r.Context(), trove.NPM, string(req.name))
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"public": !v.Package.Private})
}

// setPackageAccess serves POST /-/package/E/access: npm access set
// status=private|public (npm sends {"access": "restricted"} for private)
// makes the package private or public (registry.Service.SetPrivate, its
// owners' change); npm access set mfa=none|publish sets its publishing
// level. Tokens that bypass the level do not exist, and are refused.
func (h *Handler) setPackageAccess(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "changing a package's settings")
	if err != nil {
		return err
	}
	var body struct {
		Access          *string `json:"access"`
		RequiresTFA     *bool   `json:"publish_requires_tfa"`
		AutomationSkips *bool   `json:"automation_token_overrides_tfa"`
	}
	if err := readOrgBody(w, r, &body, "the npm access set request"); err != nil {
		return err
	}
	switch {
	case body.Access != nil && body.RequiresTFA != nil:
		return trove.Error(trove.ErrInvalid, "the request sets both the status and the publishing level: send one at a time (npm access set status=… or mfa=…)")
	case body.Access != nil:
		return h.setStatus(w, r, who, req.name, *body.Access)
	case body.RequiresTFA == nil:
		return trove.Error(trove.ErrInvalid, `the request changes nothing: send {"publish_requires_tfa": true|false} or {"access": "public"|"restricted"}`)
	case body.AutomationSkips != nil && *body.AutomationSkips:
		return trove.Error(trove.ErrInvalid, "no token skips a package's publishing level on this registry: use mfa=publish, and trusted publishing for automation")
	}
	level := trove.AuthNone
	if *body.RequiresTFA {
		level = trove.AuthMFA
	}
	if err := h.o.Registry.SetPublishAuth(r.Context(), who, trove.NPM, string(req.name), level); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

// setStatus makes a package private (npm's "restricted"; "private" is
// taken too) or public. Making it what it already is changes nothing and
// succeeds, as on npm's registry.
func (h *Handler) setStatus(w http.ResponseWriter, r *http.Request, who *access.Principal, name trove.Name, status string) error {
	var private bool
	switch status {
	case "restricted", "private":
		private = true
	case "public":
	default:
		return trove.Error(trove.ErrInvalid, "unknown status %q: want public or private", status)
	}
	if err := h.o.Registry.SetPrivate(r.Context(), who, trove.NPM, string(name), private); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}
