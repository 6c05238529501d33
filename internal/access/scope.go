package access

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/trove"
)

// An Action is something a token may be allowed to do to a package.
type Action string

// The actions.
//
//   - PublishNew creates a package (its first release); PublishUpdate
//     publishes new versions of an existing package and moves its
//     dist-tags. Publish is both: a token with it may do either, as tokens
//     made before the two were told apart did.
//   - Yank covers yanking, deprecating and unpublishing, which change what
//     existing versions mean to users.
//   - Owners covers a package's people and settings: adding and removing
//     owners, granting roles, transfers, the package's publishing policy;
//     and an organisation's members, teams and invitations.
//   - ReadPrivate reads private packages the user holds a role on (read
//     covers public packages only).
//   - ManageTokens is about the user's account, not about packages:
//     listing, creating and revoking the user's tokens. Only a token that
//     carries it explicitly (or a password sign-in) manages tokens.
//   - Curate covers curation of upstream versions (internal/curate:
//     policies, approvals, deny lists); it is of use only to administrators
//     and curators.
//
// A token that may manage tokens may mint itself any other action, so the
// password sign-ins (npm login, trove login, the web) carry every action.
const (
	Read          Action = "read"
	Publish       Action = "publish"
	PublishNew    Action = "publish-new"
	PublishUpdate Action = "publish-update"
	Yank          Action = "yank"
	Owners        Action = "owners"
	ReadPrivate   Action = "read-private"
	ManageTokens  Action = "tokens"
	Curate        Action = "curate"
)

// Actions lists every action, for validation and help texts.
var Actions = []Action{Read, Publish, PublishNew, PublishUpdate, Yank, Owners, ReadPrivate, ManageTokens, Curate}

// ParseAction checks that s names an action.
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Actions, a) {
		return "", fmt.Errorf("unknown action %q (want read, publish, publish-new, publish-update, yank, owners, read-private, tokens or curate)", s)
	}
	return a, nil
}

// covers reports whether a token carrying the actions may take action a:
// Publish carries PublishNew and PublishUpdate; for the early checks made
// before the package is looked up, either of them carries Publish; and
// ManageTokens carries Owners.
func covers(actions []Action, a Action) bool {
	switch {
	case slices.Contains(actions, a):
		return true
	case a == PublishNew, a == PublishUpdate:
		return slices.Contains(actions, Publish)
	case a == Publish:
		return slices.Contains(actions, PublishNew) || slices.Contains(actions, PublishUpdate)
	case a == Owners:
		// A token that manages tokens could mint itself one with the
		// owners action: tokens made by password sign-ins before the
		// action existed keep changing owners.
		return slices.Contains(actions, ManageTokens)
	}
	return false
}

// A Role is what a user may do to a package, granted to them on the
// package, through a team of the package's organisation, or by their
// membership of that organisation; the strongest applies. Each role
// includes the ones below it.
//
//   - Owner: everything a maintainer may, and the package's people
//     (owners, roles, transfers) and settings (its publishing policy).
//   - Maintainer: publishing new versions, yanking, deprecating,
//     unpublishing within the window, dist-tags.
//   - Reader: reads private packages (with a token carrying read-private).
type Role int

// The roles, weakest first; NoRole is none.
const (
	NoRole Role = iota
	Reader
	Maintainer
	Owner
)

// Roles lists the roles that may be granted, weakest first.
var Roles = []Role{Reader, Maintainer, Owner}

// String returns the role's name as stored and shown ("owner"); "" for NoRole.
func (r Role) String() string {
	switch r {
	case Reader:
		return "reader"
	case Maintainer:
		return "maintainer"
	case Owner:
		return "owner"
	}
	return ""
}

// ParseRole checks that s names a role.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if strings.EqualFold(strings.TrimSpace(s), r.String()) {
			return r, nil
		}
	}
	return NoRole, fmt.Errorf("unknown role %q (want owner, maintainer or reader)", s)
}

// Needs returns the role that action a on an existing package needs.
func (a Action) Needs() Role {
	switch a {
	case Read:
		return NoRole
	case ReadPrivate:
		return Reader
	case Publish, PublishNew, PublishUpdate, Yank:
		return Maintainer
	}
	return Owner
}

// A Pattern selects packages: "ECOSYSTEM:NAME", where NAME may contain '*'
// matching any run of characters (including '/' of npm scopes), or "*" for
// every package of every ecosystem. Examples: "npm:@acme/*", "pypi:demo",
// "npm:*". The literal parts of NAME are kept in their folded form (see
// [Namer]), and patterns match folded names.
type Pattern string

// A Namer knows how an ecosystem compares names; each ecosystem's
// registry.Rules is one.
type Namer interface {
	// Ecosystem returns the ecosystem the namer is for.
	Ecosystem() trove.Ecosystem
	// Fold returns the form in which a name, or a literal part of a
	// pattern, is compared: two names with one folded form are one
	// package to a scope (PyPI: PEP 503 normalization; Go: lower case,
	// as no two modules may differ only in case).
	Fold(name string) string
}

// ParsePattern checks a package pattern, whose ecosystem must be one of
// the namers', and returns it with its literal parts folded by the
// ecosystem's rules: "pypi:Alice_Proj" is "pypi:alice-proj".
func ParsePattern(s string, namers ...Namer) (Pattern, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return "*", nil
	}
	eco, name, ok := strings.Cut(s, ":")
	if !ok || eco == "" || name == "" {
		return "", fmt.Errorf("package pattern %q: want ECOSYSTEM:NAME (e.g. npm:@acme/* or pypi:demo) or *", s)
	}
	var known []string
	var namer Namer
	for _, n := range namers {
		known = append(known, string(n.Ecosystem()))
		if string(n.Ecosystem()) == eco {
			namer = n
		}
	}
	if namer == nil {
		return "", fmt.Errorf("package pattern %q: unknown ecosystem %q (want one of %s)", s, eco, strings.Join(known, ", "))
	}
	if strings.ContainsAny(name, " \t\n") {
		return "", fmt.Errorf("package pattern %q: contains white space", s)
	}
	parts := strings.Split(name, "*")
	for i, p := range parts {
		if p != "" {
			parts[i] = namer.Fold(p)
		}
	}
	return Pattern(eco + ":" + strings.Join(parts, "*")), nil
}

// Match reports whether the pattern selects the package (ecosystem, key),
// key being the package's name folded by its ecosystem's Namer.
func (p Pattern) Match(ecosystem trove.Ecosystem, key trove.Name) bool {
	if p == "*" {
		return true
	}
	eco, glob, _ := strings.Cut(string(p), ":")
	return eco == string(ecosystem) && globMatch(glob, string(key))
}

// globMatch matches s against a pattern where '*' matches any run of
// characters and everything else matches itself.
func globMatch(pattern, s string) bool {
	star, rest := -1, 0 // position of the last '*' and where it resumed in s
	pi, si := 0, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			star, rest = pi, si
			pi++
		case pi < len(pattern) && pattern[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			rest++
			si = rest
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}
