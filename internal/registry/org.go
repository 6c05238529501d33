package registry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Organisations
//
// An organisation owns packages together: its members hold a role
// (owner, maintainer or reader) on every package it owns, and its teams
// hold roles on some of them (see access.Role). It owns namespaces: the npm
// scope of its name, and the reservations (Config.Reserved) that name it;
// packages created there belong to it. People join by accepting an
// invitation; the last owner cannot leave, nor be removed or demoted (held
// under the organisation's row lock, as a package's last owner is under
// its own). Managing an organisation needs a token with the owners action
// and the role owner in it (or an administrator's account).

// InvitationLifetime is how long an invitation to an organisation waits
// for its invitee.
const InvitationLifetime = 14 * 24 * time.Hour

// Limits on what one user or organisation may hold, so that no one fills
// the database or makes an organisation's page unbounded.
const (
	// MaxOrgsPerUser bounds the organisations a user is a member of.
	MaxOrgsPerUser = 100
	// MaxTeamsPerOrg bounds an organisation's teams.
	MaxTeamsPerOrg = 500
	// MaxInvitationsPerOrg bounds an organisation's pending invitations.
	MaxInvitationsPerOrg = 1000
)

// MaxMembersPerOrg bounds an organisation's members, counting those
// invited: its pages, reviews and reminders list them all. A variable for
// tests only.
var MaxMembersPerOrg = 5000

// checkMembers refuses one more member of o past MaxMembersPerOrg, with
// the pending invitations counted as members (Invite) or not (accepting
// one); the caller holds the organisation's row lock.
func checkMembers(ctx context.Context, tx *meta.Tx, o *trove.Org, pending int) error {
	n, err := tx.CountOrgMembers(ctx, o.ID)
	if err != nil {
		return err
	}
	if n+pending >= MaxMembersPerOrg {
		return trove.Error(trove.ErrInvalid, "%s has %d members and %d pending invitations; an organisation has at most %d: remove members or withdraw invitations first",
			o.Name, n, pending, MaxMembersPerOrg)
	}
	return nil
}

// checkMemberships refuses to make the user a member of one more
// organisation past MaxOrgsPerUser; the caller holds the user's row lock.
func checkMemberships(ctx context.Context, tx *meta.Tx, userID int64, name string) error {
	orgs, err := tx.OrgsOfUser(ctx, userID)
	if err != nil {
		return err
	}
	if len(orgs) >= MaxOrgsPerUser {
		return trove.Error(trove.ErrInvalid, "%s is a member of %d organisations, the most one may be: leave one first", name, len(orgs))
	}
	return nil
}

// orgNamePattern is the rule of user names: organisation names share
// their space (npm's @name is the user's or the organisation's).
var orgNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,38}$`)

// An OrgView is an organisation as its members see it.
type OrgView struct {
	Org         *trove.Org
	Members     []trove.Grant
	Invitations []trove.Invitation
	Teams       []TeamView
}

// A TeamView is a team with its members.
type TeamView struct {
	Name    string
	Members []string
}

// CreateOrg creates an organisation whose owner is who.
func (s *Service) CreateOrg(ctx context.Context, who *access.Principal, name string) (*trove.Org, error) {
	if err := needOwnersAction(who); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if !orgNamePattern.MatchString(name) {
		return nil, trove.Error(trove.ErrInvalid, "organisation name %q must be 1-39 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	o := &trove.Org{Name: name, CreatedAt: now(s)}
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := liveToken(ctx, tx, who); err != nil {
			return err
		}
		if err := tx.InsertOrg(ctx, o); err != nil {
			if errors.Is(err, meta.ErrConflict) {
				return trove.Error(trove.ErrExists, "the name %s is taken (by a user or an organisation): choose another", name)
			}
			return err
		}
		if err := tx.LockUser(ctx, who.UserID); err != nil {
			return err
		}
		if err := checkMemberships(ctx, tx, who.UserID, who.UserName); err != nil {
			return err
		}
		return tx.SetOrgMember(ctx, o.ID, who.UserID, access.Owner.String(), o.CreatedAt)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// needOwnersAction checks who may manage organisations at all.
func needOwnersAction(who *access.Principal) error {
	switch {
	case who == nil:
		return fmt.Errorf("%w: managing organisations needs an API token", access.ErrUnauthenticated)
	case who.MustChangePassword:
		return access.MustChangePasswordError(who.UserName)
	case !who.Can(access.Owners) && !who.Can(access.ManageTokens):
		return fmt.Errorf("%w: this token cannot manage organisations (it lacks the owners action): sign in again, or use a token created with --action owners", access.ErrDenied)
	}
	return nil
}

// org returns the organisation named name, and who's role in it; a user
// who is not a member (nor an administrator) gets ErrNotFound, as for an
// organisation that does not exist, so membership lists do not leak.
func (s *Service) org(ctx context.Context, q orgReader, who *access.Principal, name string) (*trove.Org, access.Role, error) {
	notFound := trove.Error(trove.ErrNotFound, "no organisation %s of which you are a member", name)
	o, err := q.OrgByName(ctx, strings.ToLower(strings.TrimSpace(name)))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, access.NoRole, notFound
	}
	if err != nil || who == nil {
		return o, access.NoRole, err
	}
	r, err := q.OrgRole(ctx, o.ID, who.UserID)
	if err != nil {
		return nil, access.NoRole, err
	}
	role := access.NoRole
	if r != "" {
		if role, err = access.ParseRole(r); err != nil {
			return nil, access.NoRole, err
		}
	}
	if role == access.NoRole && !who.Admin {
		return nil, access.NoRole, notFound
	}
	return o, role, nil
}

// orgReader is what org reads; meta's DB and Tx have it.
type orgReader interface {
	OrgByName(ctx context.Context, name string) (*trove.Org, error)
	OrgRole(ctx context.Context, orgID, userID int64) (string, error)
}

// ownOrg runs fn in a transaction that holds the organisation's row lock,
// once who is checked again under it: their token is live and they are an
// owner of the organisation (or an administrator).
func (s *Service) ownOrg(ctx context.Context, who *access.Principal, name string, fn func(tx *meta.Tx, o *trove.Org) error) error {
	if err := needOwnersAction(who); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *meta.Tx) error {
		o, err := s.lockOrg(ctx, tx, who, name)
		if err != nil {
			return err
		}
		_, role, err := s.org(ctx, tx, who, name) // again, under the lock
		if err != nil {
			return err
		}
		if role != access.Owner && !who.Admin {
			return trove.Error(access.ErrDenied, "user %s is a %s of the organisation %s: only its owners may change it", who.UserName, role, o.Name)
		}
		return fn(tx, o)
	})
}

// OrgAuditScope returns what the owners of the organisation read of the
// audit log: its packages, with names as the log keeps them, and its own
// routes' target prefix (below Config.APIPrefix, where the API is mounted). who
// must be an owner of it or an administrator; others get ErrNotFound for
// an organisation they are not a member of, ErrDenied for one they are.
func (s *Service) OrgAuditScope(ctx context.Context, who *access.Principal, name string) (*meta.AuditScope, error) {
	if who == nil {
		return nil, fmt.Errorf("%w: reading an organisation's audit log needs an API token", access.ErrUnauthenticated)
	}
	o, role, err := s.org(ctx, s.db, who, name)
	if err != nil {
		return nil, err
	}
	if role != access.Owner && !who.Admin {
		return nil, trove.Error(access.ErrDenied, "user %s is a %s of the organisation %s: only its owners read its audit log", who.UserName, role, o.Name)
	}
	pkgs, err := s.db.PackagesOfOrg(ctx, o.ID, meta.MaxAuditScopePackages+1)
	if err != nil {
		return nil, err
	}
	if len(pkgs) > meta.MaxAuditScopePackages {
		return nil, trove.Error(trove.ErrInvalid, "the organisation %s has more than %d packages: read its audit log one package at a time (package=ECOSYSTEM:NAME)", o.Name, meta.MaxAuditScopePackages)
	}
	sc := &meta.AuditScope{TargetPrefix: s.apiPrefix + "/v1/orgs/" + o.Name}
	for _, p := range pkgs {
		sc.Packages = append(sc.Packages, trove.Target{Ecosystem: p.Ecosystem, Name: string(s.key(p.Ecosystem, p.Name))})
	}
	return sc, nil
}

// MaxOrgPackagesListed bounds the packages OrgPackages returns.
const MaxOrgPackagesListed = 1000

// OrgPackages returns the packages of an ecosystem the organisation owns,
// for its members (and administrators), with who's role in it; more than
// MaxOrgPackagesListed packages in all is ErrInvalid.
func (s *Service) OrgPackages(ctx context.Context, who *access.Principal, name string, eco trove.Ecosystem) ([]*trove.Package, access.Role, error) {
	if who == nil {
		return nil, access.NoRole, fmt.Errorf("%w: listing an organisation's packages needs an API token", access.ErrUnauthenticated)
	}
	o, role, err := s.org(ctx, s.db, who, name)
	if err != nil {
		return nil, access.NoRole, err
	}
	pkgs, err := s.db.PackagesOfOrg(ctx, o.ID, MaxOrgPackagesListed+1)
	if err != nil {
		return nil, access.NoRole, err
	}
	if len(pkgs) > MaxOrgPackagesListed {
		return nil, access.NoRole, trove.Error(trove.ErrInvalid, "the organisation %s has more than %d packages, too many to list at once", o.Name, MaxOrgPackagesListed)
	}
	var out []*trove.Package
	for _, p := range pkgs {
		if p.Ecosystem == eco {
			out = append(out, p)
		}
	}
	return out, role, nil
}

// lockOrg returns the organisation, which who must be a member of, with
// its row locked in tx and who's token checked live under the lock.
func (s *Service) lockOrg(ctx context.Context, tx *meta.Tx, who *access.Principal, name string) (*trove.Org, error) {
	o, _, err := s.org(ctx, tx, who, name)
	if err != nil {
		return nil, err
	}
	if err := tx.LockOrg(ctx, o.ID); err != nil {
		return nil, err
	}
	if err := liveToken(ctx, tx, who); err != nil {
		return nil, err
	}
	return o, nil
}

// Org returns the organisation with its members, invitations and teams,
// for its members and administrators.
func (s *Service) Org(ctx context.Context, who *access.Principal, name string) (*OrgView, error) {
	if who == nil {
		return nil, fmt.Errorf("%w: reading an organisation needs an API token", access.ErrUnauthenticated)
	}
	o, _, err := s.org(ctx, s.db, who, name)
	if err != nil {
		return nil, err
	}
	v := &OrgView{Org: o}
	if v.Members, err = s.db.OrgMembers(ctx, o.ID); err != nil {
		return nil, err
	}
	if v.Invitations, err = s.db.InvitationsOfOrg(ctx, o.ID); err != nil {
		return nil, err
	}
	teams, err := s.db.Teams(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		m, err := s.db.TeamMembers(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		v.Teams = append(v.Teams, TeamView{Name: t.Name, Members: m})
	}
	return v, nil
}

// Orgs returns the organisations who is a member of, with their role.
func (s *Service) Orgs(ctx context.Context, who *access.Principal) ([]trove.Grant, error) {
	if who == nil {
		return nil, fmt.Errorf("%w: listing your organisations needs an API token", access.ErrUnauthenticated)
	}
	return s.db.OrgsOfUser(ctx, who.UserID)
}

// member returns the live (not deleted) user named name.
func member(ctx context.Context, tx *meta.Tx, name string) (*trove.User, error) {
	u, err := tx.UserByName(ctx, strings.ToLower(strings.TrimSpace(name)))
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil, trove.Error(trove.ErrNotFound, "no user %s", name)
	case err != nil:
		return nil, err
	case u.Deleted():
		return nil, trove.Error(trove.ErrInvalid, "the account %s was deleted", u.Name)
	}
	return u, nil
}

func parseRole(s string) (access.Role, error) {
	r, err := access.ParseRole(s)
	if err != nil {
		return r, trove.Error(trove.ErrInvalid, "%v", err)
	}
	return r, nil
}

// Invite invites the user to the organisation with the role; they join
// when they accept. Inviting a member is ErrExists; inviting again renews
// the invitation.
func (s *Service) Invite(ctx context.Context, who *access.Principal, org, user, role string) error {
	r, err := parseRole(role)
	if err != nil {
		return err
	}
	return s.ownOrg(ctx, who, org, func(tx *meta.Tx, o *trove.Org) error {
		u, err := member(ctx, tx, user)
		if err != nil {
			return err
		}
		if cur, err := tx.OrgRole(ctx, o.ID, u.ID); err != nil || cur != "" {
			if err == nil {
				err = trove.Error(trove.ErrExists, "%s is already a %s of %s: change their role with trove org member set", u.Name, cur, o.Name)
			}
			return err
		}
		pending, err := tx.InvitationsOfOrg(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(pending) >= MaxInvitationsPerOrg {
			return trove.Error(trove.ErrInvalid, "%s has %d pending invitations, the most it may have: wait for answers, or let some expire", o.Name, len(pending))
		}
		if err := checkMembers(ctx, tx, o, len(pending)); err != nil {
			return err
		}
		at := now(s)
		return tx.PutInvitation(ctx, o.ID, u.ID, r.String(), who.UserID, at, at.Add(InvitationLifetime))
	})
}

// Invitations returns who's pending invitations.
func (s *Service) Invitations(ctx context.Context, who *access.Principal) ([]trove.Invitation, error) {
	if who == nil {
		return nil, fmt.Errorf("%w: listing your invitations needs an API token", access.ErrUnauthenticated)
	}
	return s.db.InvitationsOfUser(ctx, who.UserID)
}

// Answer accepts (or declines) who's invitation to the organisation:
// accepting makes them a member with the invitation's role. No
// invitation, or an expired one, is ErrNotFound.
func (s *Service) Answer(ctx context.Context, who *access.Principal, org string, accept bool) error {
	if err := needOwnersAction(who); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *meta.Tx) error {
		notFound := trove.Error(trove.ErrNotFound, "no pending invitation to the organisation %s for %s", org, who.UserName)
		o, err := tx.OrgByName(ctx, strings.ToLower(strings.TrimSpace(org)))
		if errors.Is(err, meta.ErrNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		if err := tx.LockOrg(ctx, o.ID); err != nil {
			return err
		}
		if err := liveToken(ctx, tx, who); err != nil {
			return err
		}
		inv, err := tx.Invitation(ctx, o.ID, who.UserID)
		if errors.Is(err, meta.ErrNotFound) || err == nil && !now(s).Before(inv.ExpiresAt) {
			return notFound
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteInvitation(ctx, o.ID, who.UserID); err != nil || !accept {
			return err
		}
		if err := tx.LockUser(ctx, who.UserID); err != nil {
			return err
		}
		if err := checkMemberships(ctx, tx, who.UserID, who.UserName); err != nil {
			return err
		}
		if err := checkMembers(ctx, tx, o, 0); err != nil {
			return err
		}
		return tx.SetOrgMember(ctx, o.ID, who.UserID, inv.Role, now(s))
	})
}

// SetMemberRole changes a member's role in the organisation. Demoting its
// last owner is ErrInvalid.
func (s *Service) SetMemberRole(ctx context.Context, who *access.Principal, org, user, role string) error {
	r, err := parseRole(role)
	if err != nil {
		return err
	}
	return s.ownOrg(ctx, who, org, func(tx *meta.Tx, o *trove.Org) error {
		u, cur, err := orgMember(ctx, tx, o, user)
		if err != nil {
			return err
		}
		if cur == access.Owner && r != access.Owner {
			if err := keepsOwner(ctx, tx, o, u); err != nil {
				return err
			}
		}
		return tx.SetOrgMember(ctx, o.ID, u.ID, r.String(), now(s))
	})
}

// RemoveMember removes the user from the organisation and its teams: an
// owner removes anyone, and any member may leave (who removing
// themselves). Removing the last owner is ErrInvalid.
func (s *Service) RemoveMember(ctx context.Context, who *access.Principal, org, user string) error {
	leaving := who != nil && strings.EqualFold(strings.TrimSpace(user), who.UserName)
	remove := func(tx *meta.Tx, o *trove.Org) error {
		u, cur, err := orgMember(ctx, tx, o, user)
		if err != nil {
			return err
		}
		if cur == access.Owner {
			if err := keepsOwner(ctx, tx, o, u); err != nil {
				return err
			}
		}
		return tx.RemoveOrgMember(ctx, o.ID, u.ID)
	}
	if !leaving {
		return s.ownOrg(ctx, who, org, remove)
	}
	if err := needOwnersAction(who); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *meta.Tx) error {
		o, err := s.lockOrg(ctx, tx, who, org)
		if err != nil {
			return err
		}
		return remove(tx, o)
	})
}

// orgMember returns the member of o named user and their role.
func orgMember(ctx context.Context, tx *meta.Tx, o *trove.Org, user string) (*trove.User, access.Role, error) {
	u, err := member(ctx, tx, user)
	if err != nil {
		return nil, access.NoRole, err
	}
	cur, err := tx.OrgRole(ctx, o.ID, u.ID)
	if err != nil {
		return nil, access.NoRole, err
	}
	if cur == "" {
		return nil, access.NoRole, trove.Error(trove.ErrNotFound, "%s is not a member of %s", u.Name, o.Name)
	}
	r, err := access.ParseRole(cur)
	return u, r, err
}

// keepsOwner refuses a change that would leave o without an owner once u
// is no longer one. The caller holds o's row lock, so two owners removing
// each other decide one after the other.
func keepsOwner(ctx context.Context, tx *meta.Tx, o *trove.Org, u *trove.User) error {
	members, err := tx.OrgMembers(ctx, o.ID)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.Role == access.Owner.String() && m.Name != u.Name {
			return nil
		}
	}
	return trove.Error(trove.ErrInvalid, "%s is the only owner of the organisation %s: an organisation keeps at least one owner; make another member an owner first", u.Name, o.Name)
}

// CreateTeam creates a team in the organisation.
func (s *Service) CreateTeam(ctx context.Context, who *access.Principal, org, team string) error {
	team = strings.TrimSpace(team)
	if !orgNamePattern.MatchString(team) {
		return trove.Error(trove.ErrInvalid, "team name %q must be 1-39 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", team)
	}
	return s.ownOrg(ctx, who, org, func(tx *meta.Tx, o *trove.Org) error {
		teams, err := tx.Teams(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(teams) >= MaxTeamsPerOrg {
			return trove.Error(trove.ErrInvalid, "%s has %d teams, the most it may have: delete one first", o.Name, len(teams))
		}
		err = tx.InsertTeam(ctx, &trove.Team{OrgID: o.ID, Name: team, CreatedAt: now(s)})
		if errors.Is(err, meta.ErrConflict) {
			return trove.Error(trove.ErrExists, "%s already has a team %s", o.Name, team)
		}
		return err
	})
}

// DeleteTeam deletes a team of the organisation, with its grants.
func (s *Service) DeleteTeam(ctx context.Context, who *access.Principal, org, team string) error {
	return s.ownOrg(ctx, who, org, func(tx *meta.Tx, o *trove.Org) error {
		t, err := orgTeam(ctx, tx, o, team)
		if err != nil {
			return err
		}
		return tx.DeleteTeam(ctx, t.ID)
	})
}

func orgTeam(ctx context.Context, q interface {
	Team(ctx context.Context, orgID int64, name string) (*trove.Team, error)
}, o *trove.Org, team string) (*trove.Team, error) {
	t, err := q.Team(ctx, o.ID, strings.TrimSpace(team))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, trove.Error(trove.ErrNotFound, "%s has no team %s", o.Name, team)
	}
	return t, err
}

// SetTeamMember adds the organisation's member user to the team (in) or
// removes them from it.
func (s *Service) SetTeamMember(ctx context.Context, who *access.Principal, org, team, user string, in bool) error {
	return s.ownOrg(ctx, who, org, func(tx *meta.Tx, o *trove.Org) error {
		t, err := orgTeam(ctx, tx, o, team)
		if err != nil {
			return err
		}
		u, _, err := orgMember(ctx, tx, o, user)
		if err != nil {
			return err
		}
		if in {
			return tx.AddTeamMember(ctx, t.ID, u.ID, now(s))
		}
		err = tx.RemoveTeamMember(ctx, t.ID, u.ID)
		if errors.Is(err, meta.ErrNotFound) {
			return trove.Error(trove.ErrNotFound, "%s is not in the team %s", u.Name, t.Name)
		}
		return err
	})
}
