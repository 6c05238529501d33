package meta

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// Organisations, their members, invitations and teams. Roles are stored as
// their names (access.Role's String: owner, maintainer, reader); meta does
// not interpret them, except that an organisation's owners are the members
// with the role "owner".

// lockAccountName holds the name shared by users and organisations until
// the transaction ends, so that a user and an organisation of one name are
// never created at once.
func (tx *Tx) lockAccountName(ctx context.Context, name string) error {
	return tx.LockName(ctx, "", "account "+name)
}

// InsertOrg creates the organisation and sets o.ID. A name taken by an
// organisation or by a user (deleted or not) is ErrConflict.
func (tx *Tx) InsertOrg(ctx context.Context, o *trove.Org) error {
	if err := tx.lockAccountName(ctx, o.Name); err != nil {
		return err
	}
	var n int
	if err := tx.row(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, o.Name).Scan(&n); err != nil {
		return tx.err(err)
	}
	if n > 0 {
		return fmt.Errorf("%w: the name %s is a user's", ErrConflict, o.Name)
	}
	id, err := tx.insert(ctx, `INSERT INTO orgs (name, created_at) VALUES (?, ?)`, o.Name, o.CreatedAt.UnixMicro())
	o.ID = id
	return err
}

// orgTaken returns ErrConflict if an organisation is named name: InsertUser
// calls it under the account name lock.
func (tx *Tx) orgTaken(ctx context.Context, name string) error {
	if err := tx.lockAccountName(ctx, name); err != nil {
		return err
	}
	var n int
	if err := tx.row(ctx, `SELECT COUNT(*) FROM orgs WHERE name = ?`, name).Scan(&n); err != nil {
		return tx.err(err)
	}
	if n > 0 {
		return fmt.Errorf("%w: the name %s is an organisation's", ErrConflict, name)
	}
	return nil
}

const orgCols = `id, name, created_at, private_default`

func scanOrg(s interface{ Scan(...any) error }) (*trove.Org, error) {
	var o trove.Org
	var created, private int64
	if err := s.Scan(&o.ID, &o.Name, &created, &private); err != nil {
		return nil, err
	}
	o.PrivateDefault = private != 0
	o.CreatedAt = time.UnixMicro(created).UTC()
	return &o, nil
}

// OrgByName returns the organisation with the (lower-case) name.
func (q q) OrgByName(ctx context.Context, name string) (*trove.Org, error) {
	o, err := scanOrg(q.row(ctx, `SELECT `+orgCols+` FROM orgs WHERE name = ?`, name))
	return o, q.err(err)
}

// OrgByID returns the organisation with the id.
func (q q) OrgByID(ctx context.Context, id int64) (*trove.Org, error) {
	o, err := scanOrg(q.row(ctx, `SELECT `+orgCols+` FROM orgs WHERE id = ?`, id))
	return o, q.err(err)
}

// LockOrg locks the organisation's row until the transaction ends:
// changes to its members, teams and invitations run one at a time per
// organisation (no two owners removing each other). It comes in the lock
// order with user and package rows, before them.
func (tx *Tx) LockOrg(ctx context.Context, orgID int64) error {
	var id int64
	err := tx.row(ctx, `SELECT id FROM orgs WHERE id = ?`+tx.d.forUpdate, orgID).Scan(&id)
	return tx.err(err)
}

// SetOrgPrivateDefault sets whether the organisation's new packages start private.
func (tx *Tx) SetOrgPrivateDefault(ctx context.Context, orgID int64, private bool) error {
	return affected(tx.exec(ctx, `UPDATE orgs SET private_default = ? WHERE id = ?`, boolInt(private), orgID))
}

// SetOrgMember makes the user a member of the organisation with the role,
// replacing the role they had.
func (tx *Tx) SetOrgMember(ctx context.Context, orgID, userID int64, role string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`, orgID, userID, role, at.UnixMicro())
	return err
}

// RemoveOrgMember removes the user from the organisation and from its
// teams; a user who is not a member is ErrNotFound.
func (tx *Tx) RemoveOrgMember(ctx context.Context, orgID, userID int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM team_members WHERE user_id = ? AND team_id IN (SELECT id FROM teams WHERE org_id = ?)`,
		userID, orgID); err != nil {
		return err
	}
	return affected(tx.exec(ctx, `DELETE FROM org_members WHERE org_id = ? AND user_id = ?`, orgID, userID))
}

// PackagesOfOrg returns up to limit packages the organisation owns, by
// ecosystem and name.
func (q q) PackagesOfOrg(ctx context.Context, orgID int64, limit int) ([]*trove.Package, error) {
	rows, err := q.query(ctx, `SELECT `+packageCols+` FROM packages WHERE org_id = ? ORDER BY ecosystem, name LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPackage)
}

// OrgMembers returns the organisation's members and their roles, by name.
func (q q) OrgMembers(ctx context.Context, orgID int64) ([]trove.Grant, error) {
	rows, err := q.query(ctx, `SELECT u.name, m.role FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? ORDER BY u.name`, orgID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGrant)
}

// CountOrgMembers returns how many members the organisation has.
func (q q) CountOrgMembers(ctx context.Context, orgID int64) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM org_members WHERE org_id = ?`, orgID).Scan(&n)
	return n, q.err(err)
}

// OrgRole returns the user's role in the organisation; "" if they are not
// a member.
func (q q) OrgRole(ctx context.Context, orgID, userID int64) (string, error) {
	var role string
	err := q.row(ctx, `SELECT role FROM org_members WHERE org_id = ? AND user_id = ?`, orgID, userID).Scan(&role)
	if err = q.err(err); errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return role, err
}

// OrgsOfUser returns the organisations the user is a member of, with the
// user's role, by name.
func (q q) OrgsOfUser(ctx context.Context, userID int64) ([]trove.Grant, error) {
	rows, err := q.query(ctx, `SELECT o.name, m.role FROM org_members m JOIN orgs o ON o.id = m.org_id
		WHERE m.user_id = ? ORDER BY o.name`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGrant)
}

// PutInvitation records (or renews) an invitation of the user to the
// organisation.
func (tx *Tx) PutInvitation(ctx context.Context, orgID, userID int64, role string, by int64, at, expires time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO org_invitations (org_id, user_id, role, invited_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role, invited_by = excluded.invited_by,
		created_at = excluded.created_at, expires_at = excluded.expires_at`, orgID, userID, role, by, at.UnixMicro(), expires.UnixMicro())
	return err
}

const invitationSelect = `SELECT o.name, u.name, i.role, b.name, i.created_at, i.expires_at
	FROM org_invitations i JOIN orgs o ON o.id = i.org_id JOIN users u ON u.id = i.user_id JOIN users b ON b.id = i.invited_by`

func scanInvitation(s interface{ Scan(...any) error }) (trove.Invitation, error) {
	var inv trove.Invitation
	var created, expires int64
	err := s.Scan(&inv.Org, &inv.User, &inv.Role, &inv.InvitedBy, &created, &expires)
	inv.CreatedAt, inv.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return inv, err
}

// Invitation returns the user's invitation to the organisation, expired
// or not.
func (q q) Invitation(ctx context.Context, orgID, userID int64) (trove.Invitation, error) {
	inv, err := scanInvitation(q.row(ctx, invitationSelect+` WHERE i.org_id = ? AND i.user_id = ?`, orgID, userID))
	return inv, q.err(err)
}

// DeleteInvitation removes the user's invitation to the organisation;
// none is ErrNotFound.
func (tx *Tx) DeleteInvitation(ctx context.Context, orgID, userID int64) error {
	return affected(tx.exec(ctx, `DELETE FROM org_invitations WHERE org_id = ? AND user_id = ?`, orgID, userID))
}

// InvitationsOfUser returns the user's invitations, by organisation.
func (q q) InvitationsOfUser(ctx context.Context, userID int64) ([]trove.Invitation, error) {
	rows, err := q.query(ctx, invitationSelect+` WHERE i.user_id = ? ORDER BY o.name`, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanInvitation)
}

// InvitationsOfOrg returns the organisation's pending invitations, by user.
func (q q) InvitationsOfOrg(ctx context.Context, orgID int64) ([]trove.Invitation, error) {
	rows, err := q.query(ctx, invitationSelect+` WHERE i.org_id = ? ORDER BY u.name`, orgID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanInvitation)
}

const teamCols = `id, org_id, name, created_at`

func scanTeam(s interface{ Scan(...any) error }) (*trove.Team, error) {
	var t trove.Team
	var created int64
	if err := s.Scan(&t.ID, &t.OrgID, &t.Name, &created); err != nil {
		return nil, err
	}
	t.CreatedAt = time.UnixMicro(created).UTC()
	return &t, nil
}

// InsertTeam creates the team and sets t.ID; a name the organisation has
// already is ErrConflict.
func (tx *Tx) InsertTeam(ctx context.Context, t *trove.Team) error {
	id, err := tx.insert(ctx, `INSERT INTO teams (org_id, name, created_at) VALUES (?, ?, ?)`, t.OrgID, t.Name, t.CreatedAt.UnixMicro())
	t.ID = id
	return err
}

// Team returns the organisation's team with the name.
func (q q) Team(ctx context.Context, orgID int64, name string) (*trove.Team, error) {
	t, err := scanTeam(q.row(ctx, `SELECT `+teamCols+` FROM teams WHERE org_id = ? AND name = ?`, orgID, name))
	return t, q.err(err)
}

// Teams returns the organisation's teams, by name.
func (q q) Teams(ctx context.Context, orgID int64) ([]*trove.Team, error) {
	rows, err := q.query(ctx, `SELECT `+teamCols+` FROM teams WHERE org_id = ? ORDER BY name`, orgID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanTeam)
}

// DeleteTeam deletes the team with its members and grants.
func (tx *Tx) DeleteTeam(ctx context.Context, teamID int64) error {
	for _, stmt := range []string{`DELETE FROM team_members WHERE team_id = ?`, `DELETE FROM team_grants WHERE team_id = ?`} {
		if _, err := tx.exec(ctx, stmt, teamID); err != nil {
			return err
		}
	}
	return affected(tx.exec(ctx, `DELETE FROM teams WHERE id = ?`, teamID))
}

// AddTeamMember adds the user to the team; a member already is not an error.
func (tx *Tx) AddTeamMember(ctx context.Context, teamID, userID int64, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO team_members (team_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		teamID, userID, at.UnixMicro())
	return err
}

// RemoveTeamMember removes the user from the team; a user who is not in
// it is ErrNotFound.
func (tx *Tx) RemoveTeamMember(ctx context.Context, teamID, userID int64) error {
	return affected(tx.exec(ctx, `DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, teamID, userID))
}

// TeamMembers returns the names of the team's members, sorted.
func (q q) TeamMembers(ctx context.Context, teamID int64) ([]string, error) {
	rows, err := q.query(ctx, `SELECT u.name FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ? ORDER BY u.name`, teamID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (string, error) {
		var n string
		err := s.Scan(&n)
		return n, err
	})
}

// SetTeamGrant grants the team the role on the package, replacing the
// role it had.
func (tx *Tx) SetTeamGrant(ctx context.Context, teamID, packageID int64, role string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO team_grants (team_id, package_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (team_id, package_id) DO UPDATE SET role = excluded.role`, teamID, packageID, role, at.UnixMicro())
	return err
}

// RemoveTeamGrant removes the team's role on the package; none is ErrNotFound.
func (tx *Tx) RemoveTeamGrant(ctx context.Context, teamID, packageID int64) error {
	return affected(tx.exec(ctx, `DELETE FROM team_grants WHERE team_id = ? AND package_id = ?`, teamID, packageID))
}

// TeamGrants returns the teams' roles on the package, by team name.
func (q q) TeamGrants(ctx context.Context, packageID int64) ([]trove.Grant, error) {
	rows, err := q.query(ctx, `SELECT t.name, g.role FROM team_grants g JOIN teams t ON t.id = g.team_id
		WHERE g.package_id = ? ORDER BY t.name`, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGrant)
}

// SetPackageOrg moves the package to the organisation (0: to none),
// deleting every grant it had, to users and to teams: the caller grants
// what the package's new owners hold.
func (tx *Tx) SetPackageOrg(ctx context.Context, packageID, orgID int64) error {
	for _, stmt := range []string{`DELETE FROM team_grants WHERE package_id = ?`, `DELETE FROM owners WHERE package_id = ?`} {
		if _, err := tx.exec(ctx, stmt, packageID); err != nil {
			return err
		}
	}
	return tx.MovePackage(ctx, packageID, orgID)
}

// MovePackage sets the package's organisation (0: none) and nothing else
// (the replay of a transfer's log record, whose owner lines say what
// became of the grants).
func (tx *Tx) MovePackage(ctx context.Context, packageID, orgID int64) error {
	return affected(tx.exec(ctx, `UPDATE packages SET org_id = ? WHERE id = ?`, nullID(orgID), packageID))
}
