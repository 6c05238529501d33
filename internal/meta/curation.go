package meta

import (
	"context"
	"time"

	"github.com/trove-dev/trove/internal/trove"
)

// A CurationPolicy is a row of curation_policies (see internal/curate).
type CurationPolicy struct {
	Ecosystem trove.Ecosystem
	Pattern   string
	Mode      string        // "" inherits
	MinAge    time.Duration // < 0 inherits
	Scripts   string        // install scripts: "" inherits, "allow" or "block"
	Why       string
	SetBy     string
	SetAt     time.Time
}

// A CurationMark is a row of curation_marks (see internal/curate).
type CurationMark struct {
	ID        int64
	Ecosystem trove.Ecosystem
	Name      string // a name, or a pattern with '*'
	Versions  string // "*", a canonical version key, or a range
	Kind      string // allow, deny, malicious or tag
	Tag       string // for kind tag
	Why       string
	SetBy     string
	SetAt     time.Time
}

const policyCols = `ecosystem, pattern, mode, min_age, install_scripts, why, set_by, set_at`

func scanPolicy(s interface{ Scan(...any) error }) (CurationPolicy, error) {
	var p CurationPolicy
	var age, at int64
	err := s.Scan(&p.Ecosystem, &p.Pattern, &p.Mode, &age, &p.Scripts, &p.Why, &p.SetBy, &at)
	p.MinAge = time.Duration(age) * time.Microsecond
	if age < 0 {
		p.MinAge = -1
	}
	p.SetAt = time.UnixMicro(at).UTC()
	return p, err
}

const markCols = `id, ecosystem, name, versions, kind, tag, why, set_by, set_at`

func scanMark(s interface{ Scan(...any) error }) (CurationMark, error) {
	var m CurationMark
	var at int64
	err := s.Scan(&m.ID, &m.Ecosystem, &m.Name, &m.Versions, &m.Kind, &m.Tag, &m.Why, &m.SetBy, &at)
	m.SetAt = time.UnixMicro(at).UTC()
	return m, err
}

// SetCurationPolicy stores p, replacing the policy of its ecosystem and
// pattern. A policy that inherits every setting is deleted instead.
func (tx *Tx) SetCurationPolicy(ctx context.Context, p CurationPolicy) error {
	if _, err := tx.exec(ctx, `DELETE FROM curation_policies WHERE ecosystem = ? AND pattern = ?`, p.Ecosystem, p.Pattern); err != nil {
		return err
	}
	if p.Mode == "" && p.MinAge < 0 && p.Scripts == "" {
		return nil
	}
	age := int64(-1)
	if p.MinAge >= 0 {
		age = p.MinAge.Microseconds()
	}
	_, err := tx.exec(ctx, `INSERT INTO curation_policies (`+policyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Ecosystem, p.Pattern, p.Mode, age, p.Scripts, p.Why, p.SetBy, p.SetAt.UnixMicro())
	return err
}

// CurationPolicies returns the policies of the ecosystem whose pattern is
// pattern, or, with pattern "", every policy of the ecosystem ("" for
// every ecosystem), ordered by ecosystem and pattern.
func (q q) CurationPolicies(ctx context.Context, eco trove.Ecosystem, pattern string) ([]CurationPolicy, error) {
	rows, err := q.query(ctx, `SELECT `+policyCols+` FROM curation_policies
		WHERE (? = '' OR ecosystem = ?) AND (? = '' OR pattern = ?) ORDER BY ecosystem, pattern`,
		eco, eco, pattern, pattern)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPolicy)
}

// CurationPatternPolicies returns the ecosystem's policies whose pattern
// holds a '*'.
func (q q) CurationPatternPolicies(ctx context.Context, eco trove.Ecosystem) ([]CurationPolicy, error) {
	rows, err := q.query(ctx, `SELECT `+policyCols+` FROM curation_policies
		WHERE ecosystem = ? AND pattern LIKE '%*%' ORDER BY pattern`, eco)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanPolicy)
}

// AddCurationMark stores m and sets m.ID; an identical mark (ecosystem,
// name, versions, kind and tag) is ErrConflict.
func (tx *Tx) AddCurationMark(ctx context.Context, m *CurationMark) error {
	id, err := tx.insert(ctx, `INSERT INTO curation_marks (ecosystem, name, versions, kind, tag, why, set_by, set_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.Ecosystem, m.Name, m.Versions, m.Kind, m.Tag, m.Why, m.SetBy, m.SetAt.UnixMicro())
	m.ID = id
	return err
}

// RemoveCurationMark deletes the mark with m's ecosystem, name, versions,
// kind and tag; ErrNotFound if there is none.
func (tx *Tx) RemoveCurationMark(ctx context.Context, m CurationMark) error {
	return affected(tx.exec(ctx, `DELETE FROM curation_marks
		WHERE ecosystem = ? AND name = ? AND versions = ? AND kind = ? AND tag = ?`,
		m.Ecosystem, m.Name, m.Versions, m.Kind, m.Tag))
}

// CurationMarks returns the marks of the ecosystem on name (a package
// name, or a pattern exactly as stored), or with name "" every mark of the
// ecosystem ("" for every ecosystem), in the order they were made.
func (q q) CurationMarks(ctx context.Context, eco trove.Ecosystem, name string) ([]CurationMark, error) {
	rows, err := q.query(ctx, `SELECT `+markCols+` FROM curation_marks
		WHERE (? = '' OR ecosystem = ?) AND (? = '' OR name = ?) ORDER BY id`, eco, eco, name, name)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMark)
}

// CurationPatternMarks returns the ecosystem's marks whose name is a
// pattern (holds a '*').
func (q q) CurationPatternMarks(ctx context.Context, eco trove.Ecosystem) ([]CurationMark, error) {
	rows, err := q.query(ctx, `SELECT `+markCols+` FROM curation_marks
		WHERE ecosystem = ? AND name LIKE '%*%' ORDER BY id`, eco)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMark)
}

// CurationOf returns what curation holds about one package in one
// query: its own policy (whose pattern is the name; nil if none) and the
// marks on its name.
func (q q) CurationOf(ctx context.Context, eco trove.Ecosystem, name string) (*CurationPolicy, []CurationMark, error) {
	rows, err := q.query(ctx, `SELECT `+markCols+`, 0 FROM curation_marks WHERE ecosystem = ? AND name = ?
		UNION ALL SELECT 0, ecosystem, pattern, mode, install_scripts, '', why, set_by, set_at, min_age
		FROM curation_policies WHERE ecosystem = ? AND pattern = ?
		ORDER BY 1`, eco, name, eco, name)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var pol *CurationPolicy
	var marks []CurationMark
	for rows.Next() {
		var m CurationMark
		var at, age int64
		if err := rows.Scan(&m.ID, &m.Ecosystem, &m.Name, &m.Versions, &m.Kind, &m.Tag, &m.Why, &m.SetBy, &at, &age); err != nil {
			return nil, nil, err
		}
		m.SetAt = time.UnixMicro(at).UTC()
		if m.ID != 0 {
			marks = append(marks, m)
			continue
		}
		pol = &CurationPolicy{Ecosystem: m.Ecosystem, Pattern: m.Name, Mode: m.Versions, Scripts: m.Kind,
			MinAge: time.Duration(age) * time.Microsecond, Why: m.Why, SetBy: m.SetBy, SetAt: m.SetAt}
		if age < 0 {
			pol.MinAge = -1
		}
	}
	return pol, marks, rows.Err()
}

// AddCurator makes the user a curator; one already is ErrConflict.
func (tx *Tx) AddCurator(ctx context.Context, userID int64, by string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO curators (user_id, added_by, added_at) VALUES (?, ?, ?)`, userID, by, at.UnixMicro())
	return err
}

// RemoveCurator makes the user no longer a curator; ErrNotFound if not one.
func (tx *Tx) RemoveCurator(ctx context.Context, userID int64) error {
	return affected(tx.exec(ctx, `DELETE FROM curators WHERE user_id = ?`, userID))
}

// IsCurator reports whether the user is a curator.
func (q q) IsCurator(ctx context.Context, userID int64) (bool, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM curators WHERE user_id = ?`, userID).Scan(&n)
	return n > 0, q.err(err)
}

// Curators returns the names of the curators, in order.
func (q q) Curators(ctx context.Context) ([]string, error) {
	rows, err := q.query(ctx, `SELECT u.name FROM curators c JOIN users u ON u.id = c.user_id ORDER BY u.name`)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (string, error) {
		var n string
		return n, s.Scan(&n)
	})
}
