package access

import (
	"fmt"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/trove"
)

// An Action is something a token may be allowed to do to a package.
type Action string

// The actions. Publish covers new versions and dist-tags; yank covers
// yanking, deprecating and unpublishing, which change what existing
// versions mean to users. ManageTokens is about the user's account, not about
// packages: listing, creating and revoking the user's tokens. Only a token
// that carries it explicitly (or a password sign-in) manages tokens.
// Curate covers curation of upstream versions (internal/curate: policies,
// approvals, deny lists); it is of use only to administrators and curators.
const (
	Read         Action = "read"
	Publish      Action = "publish"
	Yank         Action = "yank"
	ManageTokens Action = "tokens"
	Curate       Action = "curate"
)

// Actions lists every action, for validation and help texts.
var Actions = []Action{Read, Publish, Yank, ManageTokens, Curate}

// ParseAction checks that s names an action.
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Actions, a) {
		return "", fmt.Errorf("unknown action %q (want read, publish, yank, tokens or curate)", s)
	}
	return a, nil
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
