package meta

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// The inactivity review (packman PKM-16, docs/roles.md)
//
// A user's activity is derived from what the database already records:
// the newest of their account's creation, their sign-ins (known_devices:
// web and npm logins), their web sessions' last use, their tokens' last
// use (tokens a trusted publisher minted are a CI job's, not the
// person's), and the releases they published (likewise not through a
// trusted publisher's token).

// activitySources are the recorded activities, as (user, time) columns
// of a table with an optional condition.
var activitySources = []struct{ from, user, at, where string }{
	{"users x", "x.id", "x.created_at", ""},
	{"known_devices x", "x.user_id", "x.last_seen", ""},
	{"web_sessions x", "x.user_id", "x.last_seen_at", ""},
	{"tokens x", "x.user_id", "x.last_used_at", "x.last_used_at IS NOT NULL AND x.publisher_id = 0"},
	{"releases x LEFT JOIN tokens k ON k.id = x.token_id", "x.publisher_id", "x.created_at",
		"x.publisher_id IS NOT NULL AND COALESCE(k.publisher_id, 0) = 0"},
}

// activityUnion returns a UNION ALL of (user_id, t) over every source;
// byUser restricts each branch to one user (one ? each).
func activityUnion(byUser bool) string {
	var parts []string
	for _, s := range activitySources {
		var cond []string
		if s.where != "" {
			cond = append(cond, s.where)
		}
		if byUser {
			cond = append(cond, s.user+" = ?")
		}
		q := "SELECT " + s.user + " AS user_id, " + s.at + " AS t FROM " + s.from
		if len(cond) > 0 {
			q += " WHERE " + strings.Join(cond, " AND ")
		}
		parts = append(parts, q)
	}
	return strings.Join(parts, " UNION ALL ")
}

// LastActivity returns the time of the user's newest recorded activity.
func (q q) LastActivity(ctx context.Context, userID int64) (time.Time, error) {
	args := make([]any, len(activitySources))
	for i := range args {
		args[i] = userID
	}
	var at sql.NullInt64
	err := q.row(ctx, `SELECT MAX(t) FROM (`+activityUnion(true)+`) a`, args...).Scan(&at)
	return timeOf(at), q.err(err)
}

// A Holding is a user's role on a package or in an organisation, and
// where it comes from.
type Holding struct {
	PackageID int64 // 0 for an organisation's member in an organisation's review
	OrgID     int64 // the organisation, for a role held as its member
	UserID    int64
	User      string
	Role      string
	Via       string // "package" (granted on it), "org" (a member of its organisation) or "team NAME"
}

func scanHolding(s interface{ Scan(...any) error }) (Holding, error) {
	var h Holding
	err := s.Scan(&h.PackageID, &h.OrgID, &h.UserID, &h.User, &h.Role, &h.Via)
	return h, err
}

// The three kinds of holdings, each with a WHERE clause to complete.
const (
	holdingsGranted = `SELECT o.package_id AS package_id, 0 AS org_id, u.id AS user_id, u.name AS user_name, o.role AS role, 'package' AS via FROM owners o JOIN users u ON u.id = o.user_id WHERE `
	holdingsTeam    = `SELECT g.package_id AS package_id, 0 AS org_id, u.id AS user_id, u.name AS user_name, g.role AS role, 'team ' || t.name AS via FROM team_grants g
		JOIN teams t ON t.id = g.team_id JOIN packages p ON p.id = g.package_id AND p.org_id = t.org_id
		JOIN team_members tm ON tm.team_id = g.team_id JOIN users u ON u.id = tm.user_id WHERE `
	holdingsOrg = `SELECT 0 AS package_id, m.org_id AS org_id, u.id AS user_id, u.name AS user_name, m.role AS role, 'org' AS via FROM org_members m JOIN users u ON u.id = m.user_id WHERE `
)

// PackageHoldings returns every role held on the package: granted on it,
// through its organisation's teams, and as its organisation's members;
// by user name.
func (q q) PackageHoldings(ctx context.Context, packageID int64) ([]Holding, error) {
	rows, err := q.query(ctx, `SELECT * FROM (`+holdingsGranted+`o.package_id = ?
		UNION ALL `+holdingsTeam+`g.package_id = ?
		UNION ALL SELECT p.id, m.org_id, u.id, u.name, m.role, 'org' FROM packages p JOIN org_members m ON m.org_id = p.org_id
			JOIN users u ON u.id = m.user_id WHERE p.id = ?) h ORDER BY 4, 6`, packageID, packageID, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanHolding)
}

// OrgHoldings returns the organisation's members' roles, by user name.
func (q q) OrgHoldings(ctx context.Context, orgID int64) ([]Holding, error) {
	rows, err := q.query(ctx, holdingsOrg+`m.org_id = ? ORDER BY user_name`, orgID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanHolding)
}

// InactiveHoldings returns the roles held by users whose newest activity
// is older than cutoff: granted on packages and through teams (PackageID
// set), and as members of organisations (OrgID set, PackageID 0); by
// package, organisation and user. It reads every table of activity (the
// daily review's work).
func (q q) InactiveHoldings(ctx context.Context, cutoff time.Time) ([]Holding, error) {
	rows, err := q.query(ctx, `SELECT h.* FROM (`+holdingsGranted+`1 = 1 UNION ALL `+holdingsTeam+`1 = 1 UNION ALL `+holdingsOrg+`1 = 1) h
		JOIN (SELECT user_id, MAX(t) AS last_at FROM (`+activityUnion(false)+`) a GROUP BY user_id) act ON act.user_id = h.user_id
		WHERE act.last_at < ? ORDER BY 1, 2, 4, 6`, cutoff.UnixMicro())
	if err != nil {
		return nil, err
	}
	return collect(rows, scanHolding)
}

// OrgOwners returns the owners of the organisation, by name.
func (q q) OrgOwners(ctx context.Context, orgID int64) ([]*trove.User, error) {
	rows, err := q.query(ctx, `SELECT `+prefixed("u.", userCols)+` FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND m.role = 'owner' ORDER BY u.name`, orgID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// ReminderSent returns when the user was last reminded about subject
// (the zero time: never).
func (q q) ReminderSent(ctx context.Context, userID int64, subject string) (time.Time, error) {
	var at int64
	err := q.err(q.row(ctx, `SELECT sent_at FROM review_reminders WHERE user_id = ? AND subject = ?`+q.d.forUpdate, userID, subject).Scan(&at))
	if err == ErrNotFound {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(at).UTC(), nil
}

// SetReminderSent records that the user was reminded about subject at at.
func (tx *Tx) SetReminderSent(ctx context.Context, userID int64, subject string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO review_reminders (user_id, subject, sent_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id, subject) DO UPDATE SET sent_at = excluded.sent_at`, userID, subject, at.UnixMicro())
	return tx.err(err)
}
