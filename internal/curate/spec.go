package curate

import (
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Limits on what curators write, checked before anything is stored.
const (
	// MaxWhyLen bounds the reason given for a decision, in bytes.
	MaxWhyLen = registry.MaxReasonLen
	// MaxSpecLen bounds a version range, in bytes.
	MaxSpecLen = 256
)

// A target is what a change is about: a package name, normalized by the
// ecosystem's rules, or a pattern of names with '*' ("*" for all).
type target struct {
	rules   registry.Rules
	name    string         // as stored and logged
	pattern access.Pattern // "ECO:NAME", literal parts folded
	isGlob  bool
}

// parseTarget checks a name or pattern for the ecosystem.
func parseTarget(rules registry.Rules, s string, patternOK bool) (target, error) {
	s = strings.TrimSpace(s)
	eco := rules.Ecosystem()
	if strings.Contains(s, "*") {
		if !patternOK {
			return target{}, trove.Error(trove.ErrInvalid, "%q is a pattern: a tag names one package", s)
		}
		p, err := access.ParsePattern(string(eco)+":"+s, rules)
		if err != nil {
			return target{}, trove.Error(trove.ErrInvalid, "%w", err)
		}
		_, name, _ := strings.Cut(string(p), ":")
		return target{rules: rules, name: name, pattern: p, isGlob: true}, nil
	}
	n, err := rules.ParseName(s)
	if err != nil {
		return target{}, trove.Error(trove.ErrInvalid, "%w", err)
	}
	return target{rules: rules, name: string(n), pattern: access.Pattern(string(eco) + ":" + rules.Fold(string(n)))}, nil
}

// A spec selects versions: all ("*"), one (by its canonical key), or a
// range in the ecosystem's syntax.
type spec struct {
	text string // as stored and logged: "*", the key, or the range with single spaces
	all  bool
	key  string
	rng  string
}

// parseSpec checks a version selector for the ecosystem's rules.
func parseSpec(rules registry.Rules, s string) (spec, error) {
	s = strings.Join(strings.Fields(s), " ")
	switch {
	case s == "" || s == "*":
		return spec{text: "*", all: true}, nil
	case len(s) > MaxSpecLen:
		return spec{}, trove.Error(trove.ErrInvalid, "the version range is %d bytes long; the limit is %d", len(s), MaxSpecLen)
	}
	if key, err := rules.VersionKey(s); err == nil {
		return spec{text: key, key: key}, nil
	}
	c, ok := rules.(registry.Constrainer)
	if !ok {
		return spec{}, trove.Error(trove.ErrInvalid, "%q is not a %s version, and %s has no version ranges: give one version, or *", s, rules.Ecosystem(), rules.Ecosystem())
	}
	// A constrainer that finds a non-version satisfying itself compares
	// versions for equality only (Go's minimal version selection).
	if ok, err := c.Satisfies(s, s); err == nil && ok {
		return spec{}, trove.Error(trove.ErrInvalid, "%q is not a %s version, and %s constraints name one version: give one version, or *", s, rules.Ecosystem(), rules.Ecosystem())
	}
	probe := ""
	for _, p := range []string{"1.0.0", "v1.0.0"} {
		if _, err := rules.VersionKey(p); err == nil {
			probe = p
			break
		}
	}
	if probe == "" {
		return spec{}, trove.Error(trove.ErrInvalid, "%q is not a %s version: give one version, or *", s, rules.Ecosystem())
	}
	if _, err := c.Satisfies(probe, s); err != nil {
		return spec{}, trove.Error(trove.ErrInvalid, "%q is neither a %s version nor a range: %v", s, rules.Ecosystem(), err)
	}
	return spec{text: s, rng: s}, nil
}

// loadSpec reads a stored selector (parseSpec wrote it).
func loadSpec(rules registry.Rules, text string) spec {
	if text == "*" {
		return spec{text: text, all: true}
	}
	if key, err := rules.VersionKey(text); err == nil && key == text {
		return spec{text: text, key: key}
	}
	return spec{text: text, rng: text}
}

// matches reports whether the selector selects the version, whose
// canonical key is key.
func (s spec) matches(c registry.Constrainer, version, key string) bool {
	switch {
	case s.all:
		return true
	case s.key != "":
		return s.key == key
	case c == nil:
		return false
	}
	ok, err := c.Satisfies(version, s.rng)
	return err == nil && ok
}

// checkWhy refuses a reason the log cannot hold.
func checkWhy(why string, needed bool) error {
	switch {
	case needed && strings.TrimSpace(why) == "":
		return trove.Error(trove.ErrInvalid, "give a reason (--why): it goes into the transparency log")
	case len(why) > MaxWhyLen:
		return trove.Error(trove.ErrInvalid, "the reason is %d bytes long; the limit is %d", len(why), MaxWhyLen)
	}
	return nil
}

// describe returns "npm left-pad 1.0.0" for people.
func describe(eco trove.Ecosystem, name, versions string) string {
	if versions == "" || versions == "*" {
		return fmt.Sprintf("%s %s", eco, name)
	}
	return fmt.Sprintf("%s %s %s", eco, name, versions)
}
