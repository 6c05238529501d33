package meta

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

const packageCols = `id, ecosystem, name, display_name, skeleton, namespace, created_at, last_serial, upstream, org_id, private`

func scanPackage(s interface{ Scan(...any) error }) (*trove.Package, error) {
	return scanPackageAnd(s)
}

// scanPackageAnd reads packageCols followed by more columns.
func scanPackageAnd(s interface{ Scan(...any) error }, more ...any) (*trove.Package, error) {
	var p trove.Package
	var created, upstream, private int64
	var org sql.NullInt64
	dest := append([]any{&p.ID, &p.Ecosystem, &p.Name, &p.DisplayName, &p.Skeleton, &p.Namespace, &created, &p.LastSerial, &upstream, &org, &private}, more...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	p.Upstream, p.Private = upstream != 0, private != 0
	p.OrgID = org.Int64
	p.CreatedAt = time.UnixMicro(created).UTC()
	return &p, nil
}

// InsertPackage adds p and sets p.ID. A taken (ecosystem, name) is ErrConflict.
func (tx *Tx) InsertPackage(ctx context.Context, p *trove.Package) error {
	id, err := tx.insert(ctx, `INSERT INTO packages (ecosystem, name, display_name, skeleton, namespace, created_at, upstream, org_id, private) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Ecosystem, p.Name, p.DisplayName, p.Skeleton, p.Namespace, p.CreatedAt.UnixMicro(), boolInt(p.Upstream), nullID(p.OrgID), boolInt(p.Private))
	p.ID = id
	return err
}

// Package returns the package (ecosystem, name).
func (q q) Package(ctx context.Context, ecosystem trove.Ecosystem, name trove.Name) (*trove.Package, error) {
	p, err := scanPackage(q.row(ctx, `SELECT `+packageCols+` FROM packages WHERE ecosystem = ? AND name = ?`, ecosystem, name))
	return p, q.err(err)
}

// PackagesBySkeleton returns the ecosystem's packages whose look-alike key is skeleton.
func (q q) PackagesBySkeleton(ctx context.Context, ecosystem trove.Ecosystem, skeleton string) ([]*trove.Package, error) {
	rows, err := q.query(ctx, `SELECT `+packageCols+` FROM packages WHERE ecosystem = ? AND skeleton = ? ORDER BY name`, ecosystem, skeleton)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPackage)
}

// PackagesInNamespaces returns the ecosystem's packages, visible or not,
// whose namespace is one of keys, by name.
func (q q) PackagesInNamespaces(ctx context.Context, ecosystem trove.Ecosystem, keys []string) ([]*trove.Package, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	args := []any{ecosystem}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := q.query(ctx, `SELECT `+packageCols+` FROM packages WHERE ecosystem = ? AND namespace IN (?`+
		strings.Repeat(", ?", len(keys)-1)+`) ORDER BY name`, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPackage)
}

// PackagesBelowNamespace returns the ecosystem's packages, visible or
// not, whose namespace is below key in a tree of namespaces: starts with
// key + "/".
func (q q) PackagesBelowNamespace(ctx context.Context, ecosystem trove.Ecosystem, key string) ([]*trove.Package, error) {
	rows, err := q.query(ctx, `SELECT `+packageCols+` FROM packages WHERE ecosystem = ? AND namespace LIKE ? ESCAPE '\' ORDER BY name`,
		ecosystem, escapeLike(key)+"/%")
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPackage)
}

// EachPackage calls fn with every package of every ecosystem, visible or
// not, in id order, and stops at fn's first error. It reads the table in
// its own order rather than through an index, so that a start-up pass
// over a large registry reads each page once; fn must not write.
func (q q) EachPackage(ctx context.Context, fn func(*trove.Package) error) error {
	rows, err := q.query(ctx, `SELECT `+packageCols+` FROM packages ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SetPackagePrivate makes the package private or public.
func (tx *Tx) SetPackagePrivate(ctx context.Context, packageID int64, private bool) error {
	return affected(tx.exec(ctx, `UPDATE packages SET private = ? WHERE id = ?`, boolInt(private), packageID))
}

// A Viewer is whom a list of packages is for. Private packages appear
// only to the users holding a role on them (their own grant, their
// organisation's membership, their teams' grants), and to All
// (administrators); the zero Viewer sees public packages only.
type Viewer struct {
	UserID int64
	All    bool
}

// filter returns the condition (to AND into a WHERE clause on packages
// aliased p) and its arguments that keeps the packages v may see.
func (v Viewer) filter() (string, []any) {
	switch {
	case v.All:
		return ``, nil
	case v.UserID == 0:
		return ` AND p.private = 0`, nil
	}
	return ` AND (p.private = 0 OR p.id IN (SELECT package_id FROM owners WHERE user_id = ?)
		OR p.org_id IN (SELECT org_id FROM org_members WHERE user_id = ?)
		OR p.id IN (SELECT g.package_id FROM team_grants g JOIN team_members tm ON tm.team_id = g.team_id WHERE tm.user_id = ?))`,
		[]any{v.UserID, v.UserID, v.UserID}
}

// SetPackageKeys replaces the keys a package's rules compute from its name.
func (tx *Tx) SetPackageKeys(ctx context.Context, packageID int64, skeleton, namespace string) error {
	return affected(tx.exec(ctx, `UPDATE packages SET skeleton = ?, namespace = ? WHERE id = ?`, skeleton, namespace, packageID))
}

// Packages returns the ecosystem's packages that have at least one
// published or yanked release and that v may see, by name.
func (q q) Packages(ctx context.Context, ecosystem trove.Ecosystem, v Viewer) ([]*trove.Package, error) {
	cond, args := v.filter()
	rows, err := q.query(ctx, `SELECT `+packageCols+` FROM packages p WHERE ecosystem = ?
		AND EXISTS (SELECT 1 FROM releases r WHERE r.package_id = p.id AND r.state IN ('published', 'yanked'))`+cond+`
		ORDER BY name`, append([]any{ecosystem}, args...)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPackage)
}

// SearchPackages returns up to limit visible packages of the ecosystem
// that v may see whose name contains text (case-insensitively), skipping
// the first offset, and the number of all matches.
func (q q) SearchPackages(ctx context.Context, ecosystem trove.Ecosystem, text string, limit, offset int, v Viewer) ([]*trove.Package, int, error) {
	pattern := "%" + escapeLike(strings.ToLower(text)) + "%"
	cond, vargs := v.filter()
	where := ` FROM packages p WHERE ecosystem = ? AND LOWER(name) LIKE ? ESCAPE '\'
		AND EXISTS (SELECT 1 FROM releases r WHERE r.package_id = p.id AND r.state IN ('published', 'yanked'))` + cond
	args := append([]any{ecosystem, pattern}, vargs...)
	var total int
	if err := q.row(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, q.err(err)
	}
	rows, err := q.query(ctx, `SELECT `+packageCols+where+` ORDER BY name LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	ps, err := collect(rows, scanPackage)
	return ps, total, err
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// AddOwner makes the user an owner of the package (granting the role
// owner: see SetRole). Adding an existing owner is not an error.
func (tx *Tx) AddOwner(ctx context.Context, packageID, userID int64, at time.Time) error {
	return tx.SetRole(ctx, packageID, userID, "owner", at)
}

// SetRole grants the user the role on the package, replacing the role
// they had.
func (tx *Tx) SetRole(ctx context.Context, packageID, userID int64, role string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO owners (package_id, user_id, created_at, role) VALUES (?, ?, ?, ?)
		ON CONFLICT (package_id, user_id) DO UPDATE SET role = excluded.role`, packageID, userID, at.UnixMicro(), role)
	return err
}

// RemoveOwner removes the user from the package's owners; a user who is
// not an owner is ErrNotFound.
func (tx *Tx) RemoveOwner(ctx context.Context, packageID, userID int64) error {
	return affected(tx.exec(ctx, `DELETE FROM owners WHERE package_id = ? AND user_id = ? AND role = 'owner'`, packageID, userID))
}

// RemoveRole removes the user's own grant on the package, whatever its
// role; a user without one is ErrNotFound.
func (tx *Tx) RemoveRole(ctx context.Context, packageID, userID int64) error {
	return affected(tx.exec(ctx, `DELETE FROM owners WHERE package_id = ? AND user_id = ?`, packageID, userID))
}

// Owners returns the users granted the role owner on the package itself,
// by name (not the owners of its organisation: see OrgMembers).
func (q q) Owners(ctx context.Context, packageID int64) ([]*trove.User, error) {
	rows, err := q.query(ctx, `SELECT `+prefixed("u.", userCols)+`
		FROM owners o JOIN users u ON u.id = o.user_id WHERE o.package_id = ? AND o.role = 'owner' ORDER BY u.name`, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// AllOwners returns every user with the role owner on the package: those
// granted it on the package, and the owners of its organisation; by name.
// They are the people told about its changes.
func (q q) AllOwners(ctx context.Context, packageID int64) ([]*trove.User, error) {
	rows, err := q.query(ctx, `SELECT `+prefixed("u.", userCols)+` FROM users u WHERE u.id IN (
		SELECT o.user_id FROM owners o WHERE o.package_id = ? AND o.role = 'owner'
		UNION
		SELECT m.user_id FROM packages p JOIN org_members m ON m.org_id = p.org_id WHERE p.id = ? AND m.role = 'owner')
		ORDER BY u.name`, packageID, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanUser)
}

// A PackageGrant is a package and a role granted on it.
type PackageGrant struct {
	Package *trove.Package
	Role    string
}

func scanPackageGrant(s interface{ Scan(...any) error }) (PackageGrant, error) {
	var g PackageGrant
	var err error
	g.Package, err = scanPackageAnd(s, &g.Role)
	return g, err
}

// PackagesOfUser returns up to limit packages of the ecosystem on which
// the user holds a role granted to them on the package itself, by name.
func (q q) PackagesOfUser(ctx context.Context, userID int64, ecosystem trove.Ecosystem, limit int) ([]PackageGrant, error) {
	rows, err := q.query(ctx, `SELECT `+prefixed("p.", packageCols)+`, o.role FROM owners o JOIN packages p ON p.id = o.package_id
		WHERE o.user_id = ? AND p.ecosystem = ? ORDER BY p.name LIMIT ?`, userID, ecosystem, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPackageGrant)
}

// PackagesOfTeam returns up to limit packages of the ecosystem on which
// the team holds a role, by name.
func (q q) PackagesOfTeam(ctx context.Context, teamID int64, ecosystem trove.Ecosystem, limit int) ([]PackageGrant, error) {
	rows, err := q.query(ctx, `SELECT `+prefixed("p.", packageCols)+`, g.role FROM team_grants g JOIN packages p ON p.id = g.package_id
		WHERE g.team_id = ? AND p.ecosystem = ? ORDER BY p.name LIMIT ?`, teamID, ecosystem, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPackageGrant)
}

// Grants returns the roles granted to users on the package itself, by
// user name.
func (q q) Grants(ctx context.Context, packageID int64) ([]trove.Grant, error) {
	rows, err := q.query(ctx, `SELECT u.name, o.role FROM owners o JOIN users u ON u.id = o.user_id
		WHERE o.package_id = ? ORDER BY u.name`, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGrant)
}

func scanGrant(s interface{ Scan(...any) error }) (trove.Grant, error) {
	var g trove.Grant
	err := s.Scan(&g.Name, &g.Role)
	return g, err
}

// IsOwner reports whether the user has the role owner on the package
// itself or as an owner of its organisation.
func (q q) IsOwner(ctx context.Context, packageID, userID int64) (bool, error) {
	roles, err := q.Roles(ctx, packageID, userID)
	return slices.Contains(roles, "owner"), err
}

// Roles returns every role the user holds on the package: granted on the
// package, through the teams of its organisation they are in, and as a
// member of its organisation. The strongest applies.
func (q q) Roles(ctx context.Context, packageID, userID int64) ([]string, error) {
	rows, err := q.query(ctx, `SELECT role FROM owners WHERE package_id = ? AND user_id = ?
		UNION ALL
		SELECT m.role FROM packages p JOIN org_members m ON m.org_id = p.org_id WHERE p.id = ? AND m.user_id = ?
		UNION ALL
		SELECT g.role FROM team_grants g JOIN team_members tm ON tm.team_id = g.team_id
			JOIN teams t ON t.id = g.team_id JOIN packages p ON p.id = g.package_id AND p.org_id = t.org_id
			WHERE g.package_id = ? AND tm.user_id = ?`, packageID, userID, packageID, userID, packageID, userID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (string, error) {
		var r string
		err := s.Scan(&r)
		return r, err
	})
}

// SetDistTag points the package's tag at the release.
func (tx *Tx) SetDistTag(ctx context.Context, packageID int64, tag string, releaseID int64) error {
	_, err := tx.exec(ctx, `INSERT INTO dist_tags (package_id, tag, release_id) VALUES (?, ?, ?)
		ON CONFLICT (package_id, tag) DO UPDATE SET release_id = excluded.release_id`, packageID, tag, releaseID)
	return err
}

// DeleteDistTag removes the package's tag; an absent tag is ErrNotFound.
func (tx *Tx) DeleteDistTag(ctx context.Context, packageID int64, tag string) error {
	return affected(tx.exec(ctx, `DELETE FROM dist_tags WHERE package_id = ? AND tag = ?`, packageID, tag))
}

// DistTags returns the package's tags, by tag.
func (q q) DistTags(ctx context.Context, packageID int64) ([]trove.Tag, error) {
	rows, err := q.query(ctx, `SELECT t.tag, t.release_id, r.version FROM dist_tags t JOIN releases r ON r.id = t.release_id
		WHERE t.package_id = ? ORDER BY t.tag`, packageID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (trove.Tag, error) {
		var t trove.Tag
		err := s.Scan(&t.Tag, &t.ReleaseID, &t.Version)
		return t, err
	})
}

// RoleSince returns when the user got the first of the roles they hold
// on the package (see Roles): their grant on it, their membership of its
// organisation, or their membership of a team granted it (from the later
// of joining the team and the team's grant). It is the zero time when
// they hold none. A role changed later (reader to maintainer) keeps the
// time it was first granted.
func (q q) RoleSince(ctx context.Context, packageID, userID int64) (time.Time, error) {
	var at sql.NullInt64
	err := q.row(ctx, `SELECT MIN(t) FROM (
		SELECT created_at AS t FROM owners WHERE package_id = ? AND user_id = ?
		UNION ALL
		SELECT m.created_at FROM packages p JOIN org_members m ON m.org_id = p.org_id WHERE p.id = ? AND m.user_id = ?
		UNION ALL
		SELECT CASE WHEN tm.created_at > g.created_at THEN tm.created_at ELSE g.created_at END
			FROM team_grants g JOIN team_members tm ON tm.team_id = g.team_id
			JOIN teams t ON t.id = g.team_id JOIN packages p ON p.id = g.package_id AND p.org_id = t.org_id
			WHERE g.package_id = ? AND tm.user_id = ?) roles`,
		packageID, userID, packageID, userID, packageID, userID).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, q.err(err)
	}
	return time.UnixMicro(at.Int64).UTC(), nil
}
