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
// versions mean to users.
const (
	Read    Action = "read"
	Publish Action = "publish"
	Yank    Action = "yank"
)

// Actions lists every action, for validation and help texts.
var Actions = []Action{Read, Publish, Yank}

// ParseAction checks that s names an action.
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Actions, a) {
		return "", fmt.Errorf("unknown action %q (want read, publish or yank)", s)
	}
	return a, nil
}

// A Pattern selects packages: "ECOSYSTEM:NAME", where NAME may contain '*'
// matching any run of characters (including '/' of npm scopes), or "*" for
// every package of every ecosystem. Examples: "npm:@acme/*", "pypi:demo",
// "npm:*".
type Pattern string

// ParsePattern checks the form of a package pattern. Names are compared in
// their normalized form, so patterns are lowercased.
func ParsePattern(s string) (Pattern, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return "*", nil
	}
	eco, name, ok := strings.Cut(s, ":")
	if !ok || eco == "" || name == "" {
		return "", fmt.Errorf("package pattern %q: want ECOSYSTEM:NAME (e.g. npm:@acme/* or pypi:demo) or *", s)
	}
	switch eco {
	case "npm", "pypi", "go":
	default:
		return "", fmt.Errorf("package pattern %q: unknown ecosystem %q (want npm, pypi or go)", s, eco)
	}
	if strings.ContainsAny(name, " \t\n") {
		return "", fmt.Errorf("package pattern %q: contains white space", s)
	}
	return Pattern(eco + ":" + strings.ToLower(name)), nil
}

// Match reports whether the pattern selects the package (ecosystem, name),
// name being normalized. Go module paths keep their case, and no two
// modules may differ only in case (their skeleton is the lowercase path),
// so Go names are matched case-insensitively.
func (p Pattern) Match(ecosystem trove.Ecosystem, name trove.Name) bool {
	if p == "*" {
		return true
	}
	eco, glob, _ := strings.Cut(string(p), ":")
	n := string(name)
	if eco == string(trove.Go) {
		n = strings.ToLower(n)
	}
	return eco == string(ecosystem) && globMatch(glob, n)
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
