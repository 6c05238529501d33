package registry

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// MinTypoLen is the length of the shortest skeletons the typo rules (one
// edit, an affix) apply to: a popular name's, and for one edit the new
// name's too. Shorter names are one edit from too many words ("json" from
// "json5", "sync" from "async", "type" from "typer"); their look-alikes
// (the same skeleton) are refused at any length.
const MinTypoLen = 5

// An Affixer is the optional part of an ecosystem's Rules for ecosystems
// with popular names (Popular): what typosquatters add to a popular name to
// make one that passes for it.
type Affixer interface {
	// Affixes returns the prefixes and suffixes, as written in names
	// ("python-", "-py"). They are compared as skeletons, so that a
	// separator in them stands for any separator, or none.
	Affixes() (prefixes, suffixes []string)
}

// A Popular is one ecosystem's list of popular names, the names of
// packages many people install from the ecosystem's public registry,
// indexed once for the check of new names against them. A new local name
// is refused (unless an administrator creates it, or the configuration
// allows it) when it is not itself a popular name and
//
//   - its skeleton (Rules.Skeleton) equals a popular name's: the same name
//     with confusable characters or punctuation changed;
//   - or its skeleton is one edit from a popular one, both of at least
//     MinTypoLen bytes: a character inserted, deleted or replaced, or two
//     adjacent characters swapped (the Damerau–Levenshtein distance,
//     restricted to one edit);
//   - or its skeleton is a popular one of at least MinTypoLen bytes with
//     one of the ecosystem's affixes (Affixer) added.
//
// These are the checks of PyPI's own typo detection (warehouse's
// packaging/typosnyper.py, after the TypoGard paper and the typomania
// crate): repeated, omitted and swapped characters, and common typos (its
// keyboard-neighbour substitutions, which any substitution covers here),
// and TypoGard's version numbers (a digit added, PyPI's affixes "2" and
// "3"). Swapped words ("dateutil-python") are not checked.
//
// One edit is found without a scan of the list, by the symmetric delete
// method: every popular skeleton is indexed under itself and under each
// string it gives with one byte deleted; a name within one edit of it has
// its skeleton, or its skeleton with one byte deleted, among those keys.
// A check is len(skeleton)+1 map lookups, each candidate found confirmed
// by a linear comparison. Skeletons of valid npm and PyPI names are
// ASCII; edits are counted in bytes. A Popular is read-only once made,
// and safe for concurrent use.
type Popular struct {
	rules   Rules
	names   map[trove.Name]bool   // the popular names themselves
	same    map[string]trove.Name // skeleton → popular name
	affixed map[string]trove.Name // skeleton of a popular name with an affix → popular name
	near    map[string][]popularEntry
}

// A popularEntry is a popular name and its skeleton, indexed under the
// skeleton and its one-byte deletions.
type popularEntry struct {
	name     trove.Name
	skeleton string
}

// NewPopular indexes a list of popular names of the ecosystem of rules:
// one name a line, as the ecosystem's clients write it; blank lines and
// lines starting with '#' are ignored. Errors name the line.
func NewPopular(rules Rules, list string) (*Popular, error) {
	p := &Popular{rules: rules, names: make(map[trove.Name]bool), same: make(map[string]trove.Name),
		affixed: make(map[string]trove.Name), near: make(map[string][]popularEntry)}
	var prefixes, suffixes []string
	if a, ok := rules.(Affixer); ok {
		prefixes, suffixes = a.Affixes()
	}
	sc := bufio.NewScanner(strings.NewReader(list))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		n, err := rules.ParseName(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		p.add(n, prefixes, suffixes)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// add indexes one popular name. Where two popular names collide, the
// first listed is the one named in refusals.
func (p *Popular) add(n trove.Name, prefixes, suffixes []string) {
	sk := p.rules.Skeleton(n)
	if sk == "" || p.names[n] {
		return
	}
	p.names[n] = true
	if _, ok := p.same[sk]; !ok {
		p.same[sk] = n
	}
	if len(sk) < MinTypoLen {
		return
	}
	for _, a := range prefixes {
		p.addAffixed(a+string(n), n)
	}
	for _, a := range suffixes {
		p.addAffixed(string(n)+a, n)
	}
	e := popularEntry{name: n, skeleton: sk}
	p.near[sk] = append(p.near[sk], e)
	for i := range len(sk) {
		if i > 0 && sk[i] == sk[i-1] {
			continue // the same string as deleting sk[i-1]
		}
		d := sk[:i] + sk[i+1:]
		p.near[d] = append(p.near[d], e)
	}
}

// addAffixed indexes a popular name with an affix added, if that is a
// valid name (an npm scoped name is not, with a prefix).
func (p *Popular) addAffixed(s string, n trove.Name) {
	an, err := p.rules.ParseName(s)
	if err != nil {
		return
	}
	if sk := p.rules.Skeleton(an); sk != "" {
		if _, ok := p.affixed[sk]; !ok {
			p.affixed[sk] = n
		}
	}
}

// Ecosystem returns the ecosystem of the names.
func (p *Popular) Ecosystem() trove.Ecosystem { return p.rules.Ecosystem() }

// Len returns the number of popular names.
func (p *Popular) Len() int { return len(p.names) }

// Lookalike returns the popular name that the normalized name n looks
// like, if any (see Popular); a popular name itself looks like none.
func (p *Popular) Lookalike(n trove.Name) (trove.Name, bool) {
	if p.names[n] {
		return "", false
	}
	sk := p.rules.Skeleton(n)
	if sk == "" {
		return "", false
	}
	if q, ok := p.same[sk]; ok {
		return q, true
	}
	if q, ok := p.affixed[sk]; ok {
		return q, true
	}
	if len(sk) < MinTypoLen {
		return "", false
	}
	if q, ok := p.within(sk, sk); ok {
		return q, true
	}
	var arr [64]byte
	buf := arr[:0]
	for i := range len(sk) {
		if i > 0 && sk[i] == sk[i-1] {
			continue
		}
		buf = append(append(buf[:0], sk[:i]...), sk[i+1:]...)
		if q, ok := p.within(sk, string(buf)); ok {
			return q, true
		}
	}
	return "", false
}

// within returns the first popular name indexed under key whose skeleton
// is one edit from sk.
func (p *Popular) within(sk, key string) (trove.Name, bool) {
	for _, e := range p.near[key] {
		if oneEdit(sk, e.skeleton) {
			return e.name, true
		}
	}
	return "", false
}

// oneEdit reports whether a and b differ by exactly one insertion,
// deletion, substitution or transposition of adjacent bytes.
func oneEdit(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	switch len(a) - len(b) {
	case 0:
		if i == len(a) {
			return false // equal
		}
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		return a[i+1:] == b[i:]
	}
	return false
}

// checkPopular refuses a new name that looks like a popular name of its
// ecosystem (Popular), unless who is an administrator or the name is one
// the configuration allows.
func (s *Service) checkPopular(rules Rules, name trove.Name, who *access.Principal) error {
	p := s.popular[rules.Ecosystem()]
	if p == nil || who.Admin {
		return nil
	}
	q, ok := p.Lookalike(name)
	if !ok {
		return nil
	}
	key := trove.Name(rules.Fold(string(name)))
	for _, a := range s.popularAllowed {
		if a.Match(rules.Ecosystem(), key) {
			return nil
		}
	}
	return trove.Error(access.ErrDenied, "package name %q is too similar to the popular package %q; choose another name, or ask an administrator of this registry to allow it",
		name, q)
}
