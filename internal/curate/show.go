package curate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// A View is what Show returns: policies and marks, and for one package
// the settings that apply to it and where each comes from.
type View struct {
	Policies  []Policy
	Marks     []Mark
	Effective *Effective // for one package
}

// A Policy is a stored policy. MinAge < 0 and empty Mode or Scripts
// inherit from less specific policies.
type Policy struct {
	Ecosystem trove.Ecosystem
	Pattern   string
	Mode      string
	MinAge    time.Duration
	Scripts   string
	Why       string
	SetBy     string
	SetAt     time.Time
}

// A Mark is a stored mark.
type Mark struct {
	ID        int64
	Ecosystem trove.Ecosystem
	Name      string
	Versions  string
	Kind      string
	Tag       string
	Why       string
	SetBy     string
	SetAt     time.Time
}

// Effective are a package's settings.
type Effective struct {
	Mode, ModeFrom       string
	MinAge               time.Duration
	MinAgeFrom           string
	Scripts, ScriptsFrom string
}

// Show returns the ecosystem's policies and marks; with a name, those
// that apply to that package (its own, and those of patterns that match
// it) and its effective settings; with a pattern, those stored under it.
// Only curators (and administrators) may look.
func (s *Service) Show(ctx context.Context, who *access.Principal, eco trove.Ecosystem, pattern string) (*View, error) {
	rules, err := s.rules(eco)
	if err != nil {
		return nil, err
	}
	if pattern == "" {
		pattern = "*"
	}
	t, err := parseTarget(rules, pattern, true)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, who, t); err != nil {
		return nil, err
	}
	if t.isGlob {
		return s.showPattern(ctx, eco, t.name)
	}
	es, err := s.loadEco(ctx, rules)
	if err != nil {
		return nil, err
	}
	st, err := s.loadPkg(ctx, rules, trove.Name(t.name))
	if err != nil {
		return nil, err
	}
	v := &View{}
	if st.policy != nil {
		v.Policies = append(v.Policies, Policy(*st.policy))
	}
	folded := trove.Name(rules.Fold(t.name))
	for _, p := range es.policies {
		if access.Pattern(string(eco)+":"+p.Pattern).Match(eco, folded) {
			v.Policies = append(v.Policies, Policy(p))
		}
	}
	for _, m := range append(st.marks, es.marks...) {
		if m.pattern == "" || m.pattern.Match(eco, folded) {
			v.Marks = append(v.Marks, Mark(m.CurationMark))
		}
	}
	set := effective(rules, trove.Name(t.name), es, st)
	v.Effective = &Effective{Mode: set.mode, ModeFrom: set.modeFrom, MinAge: set.minAge, MinAgeFrom: set.minAgeFrom, Scripts: set.scripts, ScriptsFrom: set.scriptsFrom}
	return v, nil
}

// showPattern returns everything of the ecosystem ("*"), or what is
// stored under one pattern.
func (s *Service) showPattern(ctx context.Context, eco trove.Ecosystem, pattern string) (*View, error) {
	only := pattern
	if pattern == "*" {
		only = ""
	}
	pols, err := s.db.CurationPolicies(ctx, eco, only)
	if err != nil {
		return nil, err
	}
	marks, err := s.db.CurationMarks(ctx, eco, only)
	if err != nil {
		return nil, err
	}
	v := &View{}
	for _, p := range pols {
		v.Policies = append(v.Policies, Policy(p))
	}
	for _, m := range marks {
		v.Marks = append(v.Marks, Mark(m))
	}
	return v, nil
}

// AddCurator makes the user a curator (by: the administrator, for the
// record). Administrators need not be curators. It works on the database
// directly, as `trove curator add` does.
func AddCurator(ctx context.Context, db *meta.DB, user, by string, at time.Time) error {
	u, err := db.UserByName(ctx, strings.ToLower(strings.TrimSpace(user)))
	if errors.Is(err, meta.ErrNotFound) || err == nil && u.Deleted() {
		return trove.Error(trove.ErrNotFound, "no user %s", user)
	}
	if err != nil {
		return err
	}
	err = db.Tx(ctx, func(tx *meta.Tx) error { return tx.AddCurator(ctx, u.ID, by, at) })
	if errors.Is(err, meta.ErrConflict) {
		return trove.Error(trove.ErrExists, "%s is already a curator", u.Name)
	}
	return err
}

// RemoveCurator makes the user no longer a curator.
func RemoveCurator(ctx context.Context, db *meta.DB, user string) error {
	u, err := db.UserByName(ctx, strings.ToLower(strings.TrimSpace(user)))
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "no user %s", user)
	}
	if err != nil {
		return err
	}
	err = db.Tx(ctx, func(tx *meta.Tx) error { return tx.RemoveCurator(ctx, u.ID) })
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "%s is not a curator", u.Name)
	}
	if err != nil {
		return fmt.Errorf("removing curator %s: %w", u.Name, err)
	}
	return nil
}
