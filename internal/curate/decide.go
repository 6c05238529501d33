package curate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// Rules a Decision names.
const (
	RuleMalicious      = "malicious"
	RuleDeny           = "deny-list"
	RuleAllow          = "allow-list"
	RuleApproved       = "approved"
	RuleApprovedOnly   = "approved-only"
	RuleCooldown       = "cooldown"
	RuleInstallScripts = "install-scripts"
	RuleOpen           = "open"
)

// Modes of a policy.
const (
	ModeOpen         = "open"
	ModeApprovedOnly = "approved-only"
)

// ApprovedTag is the tag that approved-only mode serves.
const ApprovedTag = "approved"

// A mark is a stored mark, read for deciding.
type mark struct {
	meta.CurationMark
	pattern access.Pattern // for a mark on a pattern of names
	spec    spec
}

// ecoState is an ecosystem's curation that is not about one name:
// policies and marks whose name is a pattern, most specific policy first.
type ecoState struct {
	policies []meta.CurationPolicy
	marks    []mark
}

// pkgState is one package's own policy (nil if none) and marks, and
// what the marks decided about each version asked, with the ecosystem's
// state they were read with.
type pkgState struct {
	policy *meta.CurationPolicy
	marks  []mark

	mu      sync.Mutex
	memoFor *ecoState
	memo    map[string]hit
}

// settings are a package's effective policy, with the pattern that set
// each setting.
type settings struct {
	mode, modeFrom       string
	minAge               time.Duration
	minAgeFrom           string
	scripts, scriptsFrom string
}

// Decide returns one Decision per version, in order: whether each may be
// served under the curation policies. It reads the database only for
// what it has not cached (see the package documentation).
func (s *Service) Decide(ctx context.Context, vs []Version) ([]Decision, error) {
	out := make([]Decision, len(vs))
	now := s.now()
	var st *pkgState
	var es *ecoState
	var set settings
	var last pkgKey
	for i, v := range vs {
		rules, err := s.rules(v.Ecosystem)
		if err != nil {
			return nil, err
		}
		if k := (pkgKey{v.Ecosystem, v.Name}); st == nil || k != last {
			if es, st, err = s.state(ctx, rules, v.Name); err != nil {
				return nil, err
			}
			last = k
			set = effective(rules, v.Name, es, st)
		}
		if out[i] = decide(rules, v, es, st, set, now); !out[i].Allowed {
			out[i].Why += s.ask()
		}
	}
	return out, nil
}

// Check returns nil if the version may be served, or an
// *upstream.BlockedError that names the rule and whom to ask (for an exact
// request of a version).
func (s *Service) Check(ctx context.Context, v Version) error {
	d, err := s.Decide(ctx, []Version{v})
	if err != nil {
		return err
	}
	if d[0].Allowed {
		return nil
	}
	return &upstream.BlockedError{Version: v, Decision: d[0]}
}

// ask returns the end of a blocked decision's Why: whom to ask.
func (s *Service) ask() string {
	if s.contact != "" {
		return "; ask " + s.contact + " to approve it"
	}
	return "; ask a curator of this registry to approve it (trove approve)"
}

// decide applies the rules to one version (see the package documentation).
func decide(rules registry.Rules, v Version, es *ecoState, st *pkgState, set settings, now time.Time) Decision {
	if d, ok := st.marked(rules, v, es); ok {
		return d
	}
	if set.mode == ModeApprovedOnly {
		return Decision{Rule: RuleApprovedOnly, Why: "only approved versions are served (policy " + set.modeFrom + ") and this one is not approved"}
	}
	if set.minAge > 0 {
		if v.Published.IsZero() {
			return Decision{Rule: RuleCooldown, Why: fmt.Sprintf("versions are served %s after publication (policy %s) and this one's publication time is unknown", age(set.minAge), set.minAgeFrom)}
		}
		if until := v.Published.Add(set.minAge); now.Before(until) {
			return Decision{Rule: RuleCooldown, Why: fmt.Sprintf("published %s, it is served from %s (minimum age %s, policy %s)",
				v.Published.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339), age(set.minAge), set.minAgeFrom)}
		}
	}
	if v.InstallScripts && set.scripts == "block" {
		return Decision{Rule: RuleInstallScripts, Why: "it has install scripts, which are blocked (policy " + set.scriptsFrom + ")"}
	}
	return Decision{Allowed: true, Rule: RuleOpen}
}

// A hit is what the marks decide about a version, if anything.
type hit struct {
	d  Decision
	ok bool
}

// marked returns the decision of the first mark that applies to the
// version (malicious, deny, allow, approved tag), remembered per version:
// it changes only when the marks do, and then the state is read anew.
func (st *pkgState) marked(rules registry.Rules, v Version, es *ecoState) (Decision, bool) {
	st.mu.Lock()
	if st.memoFor != es {
		st.memoFor, st.memo = es, make(map[string]hit)
	}
	h, ok := st.memo[v.Version]
	st.mu.Unlock()
	if ok {
		return h.d, h.ok
	}
	h.d, h.ok = findMark(rules, v, es, st)
	st.mu.Lock()
	if st.memoFor == es && len(st.memo) < maxMemo {
		st.memo[v.Version] = h
	}
	st.mu.Unlock()
	return h.d, h.ok
}

// maxMemo bounds the versions a package's state remembers decisions of.
const maxMemo = 100_000

// findMark looks for the first mark that applies to the version.
func findMark(rules registry.Rules, v Version, es *ecoState, st *pkgState) (Decision, bool) {
	key, err := rules.VersionKey(v.Version)
	if err != nil {
		return Decision{Rule: RuleDeny, Why: fmt.Sprintf("version %q is not valid: %v", v.Version, err)}, true
	}
	c, _ := rules.(registry.Constrainer)
	folded := trove.Name(rules.Fold(string(v.Name)))
	find := func(kind, tag string) *mark {
		for _, ms := range [][]mark{st.marks, es.marks} {
			for i := range ms {
				m := &ms[i]
				if m.Kind != kind || m.Tag != tag || m.pattern != "" && !m.pattern.Match(v.Ecosystem, folded) {
					continue
				}
				if m.spec.matches(c, v.Version, key) {
					return m
				}
			}
		}
		return nil
	}
	if m := find(kindMalicious, ""); m != nil {
		return Decision{Rule: RuleMalicious, Why: "marked malicious by " + m.SetBy + quoteWhy(m.Why)}, true
	}
	if m := find(kindDeny, ""); m != nil {
		return Decision{Rule: RuleDeny, Why: "denied by " + m.SetBy + quoteWhy(m.Why)}, true
	}
	if m := find(kindAllow, ""); m != nil {
		return Decision{Allowed: true, Rule: RuleAllow, Why: "allowed by " + m.SetBy + quoteWhy(m.Why)}, true
	}
	if m := find(kindTag, ApprovedTag); m != nil {
		return Decision{Allowed: true, Rule: RuleApproved, Why: "approved by " + m.SetBy + quoteWhy(m.Why)}, true
	}
	return Decision{}, false
}

func quoteWhy(why string) string {
	if why == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", why)
}

// age formats a minimum age for people: 72h, 7d, 90m.
func age(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// effective resolves a package's settings from its own policy, then the
// ecosystem's patterns that match it, most specific first.
func effective(rules registry.Rules, name trove.Name, es *ecoState, st *pkgState) settings {
	set := settings{mode: ModeOpen, scripts: "allow"}
	var haveMode, haveAge, haveScripts bool
	apply := func(p *meta.CurationPolicy) {
		from := string(p.Ecosystem) + ":" + p.Pattern
		if !haveMode && p.Mode != "" {
			set.mode, set.modeFrom, haveMode = p.Mode, from, true
		}
		if !haveAge && p.MinAge >= 0 {
			set.minAge, set.minAgeFrom, haveAge = p.MinAge, from, true
		}
		if !haveScripts && p.Scripts != "" {
			set.scripts, set.scriptsFrom, haveScripts = p.Scripts, from, true
		}
	}
	if st.policy != nil {
		apply(st.policy)
	}
	folded := trove.Name(rules.Fold(string(name)))
	for i := range es.policies {
		p := &es.policies[i]
		if access.Pattern(string(p.Ecosystem)+":"+p.Pattern).Match(p.Ecosystem, folded) {
			apply(p)
		}
	}
	return set
}

// specificity orders patterns: more literal characters first, then by text.
func specificity(a, b string) bool {
	la, lb := len(a)-strings.Count(a, "*"), len(b)-strings.Count(b, "*")
	if la != lb {
		return la > lb
	}
	return a < b
}

// state returns the ecosystem's and the package's curation, from the
// cache or read (and cached unless a change raced with the read).
func (s *Service) state(ctx context.Context, rules registry.Rules, name trove.Name) (*ecoState, *pkgState, error) {
	eco := rules.Ecosystem()
	k := pkgKey{eco, name}
	s.mu.Lock()
	es, st, gen := s.ecos[eco], s.pkgs[k], s.gen[eco]
	s.mu.Unlock()
	var err error
	if es == nil {
		if es, err = s.loadEco(ctx, rules); err != nil {
			return nil, nil, err
		}
	}
	if st == nil {
		if st, err = s.loadPkg(ctx, rules, name); err != nil {
			return nil, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen[eco] == gen {
		if len(s.pkgs) >= MaxCachedPackages {
			clear(s.pkgs)
		}
		s.ecos[eco], s.pkgs[k] = es, st
	}
	return es, st, nil
}

// loadEco reads an ecosystem's pattern policies and marks.
func (s *Service) loadEco(ctx context.Context, rules registry.Rules) (*ecoState, error) {
	eco := rules.Ecosystem()
	pols, err := s.db.CurationPatternPolicies(ctx, eco)
	if err != nil {
		return nil, fmt.Errorf("reading curation policies: %w", err)
	}
	sort.SliceStable(pols, func(i, j int) bool { return specificity(pols[i].Pattern, pols[j].Pattern) })
	ms, err := s.db.CurationPatternMarks(ctx, eco)
	if err != nil {
		return nil, fmt.Errorf("reading curation marks: %w", err)
	}
	es := &ecoState{policies: pols}
	for _, m := range ms {
		es.marks = append(es.marks, mark{CurationMark: m, pattern: access.Pattern(string(eco) + ":" + m.Name), spec: loadSpec(rules, m.Versions)})
	}
	return es, nil
}

// loadPkg reads a package's own policy and marks, in one query.
func (s *Service) loadPkg(ctx context.Context, rules registry.Rules, name trove.Name) (*pkgState, error) {
	pol, ms, err := s.db.CurationOf(ctx, rules.Ecosystem(), string(name))
	if err != nil {
		return nil, fmt.Errorf("reading the curation of %s: %w", name, err)
	}
	st := &pkgState{policy: pol}
	for _, m := range ms {
		st.marks = append(st.marks, mark{CurationMark: m, spec: loadSpec(rules, m.Versions)})
	}
	return st, nil
}
