package secret

import (
	_ "embed"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// The gitleaks rule set the Leaks scanner uses, vendored as data with its
// licence in gitleaks/ (see gitleaks/README.md for how to update it).
//
//go:embed gitleaks/gitleaks.toml
var gitleaksTOML string

// RulesVersion names the gitleaks release the rules come from.
const RulesVersion = "gitleaks v8.30.1 (83d9cd684c87d95d656c1458ef04895a7f1cbd8e)"

// excluded are the gitleaks rules Trove leaves out, each for a reason
// that holds for published packages (docs/scanning.md lists them).
var excluded = map[string]string{
	// Any "key = <10+ characters of some entropy>": in package code this
	// is hashes, identifiers and test fixtures far more often than a
	// credential; gitleaks needs 1,400 stopwords to tame it in
	// repositories and it would still hold ordinary packages.
	"generic-api-key": "matches assignments of any high-entropy string",
	// JSON Web Tokens are signed claims, usually expired, and the
	// documentation of every JWT library carries sample ones.
	"jwt":        "sample tokens in JWT libraries' documentation and tests",
	"jwt-base64": "sample tokens in JWT libraries' documentation and tests",
	// A .p12/.pfx file by its name alone: TLS libraries ship them as test
	// fixtures, and the rule cannot look inside.
	"pkcs12-file": "matches a file name only; TLS libraries ship test fixtures",
}

// A rule is one gitleaks rule, compiled.
type rule struct {
	id          string
	description string
	re          *regexp.Regexp
	secretGroup int
	entropy     float64
	keywords    []string // lowercase
	path        *regexp.Regexp
	allow       []allowlist
	reach       int // how far after a keyword a match may end
	// heuristic says the rule matches a value by its context (a name
	// such as "adafruit" or "curl -u" before it) rather than by a
	// credential's own format: its findings hold rather than reject.
	heuristic bool
	// wordStart says every match starts at a word start with one of the
	// rule's keywords (wordStarts): occurrences of its keywords inside a
	// word need not be looked at.
	wordStart bool
}

// contextRules are the rules that match by context, besides those built
// from gitleaks' "semi-generic" pattern (contextPrefixes).
var contextRules = map[string]bool{"curl-auth-header": true, "curl-auth-user": true, "kubernetes-secret-yaml": true,
	"nuget-config-password": true, "facebook-access-token": true}

// contextPrefixes begin the regexps of gitleaks' semi-generic rules: up
// to 50 characters of a name, a keyword, an assignment and a value.
var contextPrefixes = []string{`(?i)[\w.-]{0,50}?(?:`, `[\w.-]{0,50}?(?i:[\w.-]{0,50}?`}

// An allowlist says which matches of a rule are not findings.
type allowlist struct {
	and       bool   // all of paths, regexes and stopwords must match, not any
	target    string // what regexes match: "secret" (default), "match" or "line"
	paths     []*regexp.Regexp
	regexes   []*regexp.Regexp
	stopwords []string // lowercase
}

// A ruleSet is the rules with the global allowlist.
type ruleSet struct {
	rules  []*rule
	global allowlist
}

// The TOML shape of gitleaks' configuration (the parts Trove uses).
type tomlAllowlist struct {
	Description string   `toml:"description"`
	Condition   string   `toml:"condition"`
	RegexTarget string   `toml:"regexTarget"`
	Paths       []string `toml:"paths"`
	Regexes     []string `toml:"regexes"`
	StopWords   []string `toml:"stopwords"`
}

type tomlConfig struct {
	Title      string        `toml:"title"`
	MinVersion string        `toml:"minVersion"`
	Allowlist  tomlAllowlist `toml:"allowlist"`
	Rules      []struct {
		ID          string          `toml:"id"`
		Description string          `toml:"description"`
		Regex       string          `toml:"regex"`
		SecretGroup int             `toml:"secretGroup"`
		Entropy     float64         `toml:"entropy"`
		Keywords    []string        `toml:"keywords"`
		Path        string          `toml:"path"`
		Allowlists  []tomlAllowlist `toml:"allowlists"`
	} `toml:"rules"`
}

// Reach of a match after its keyword: far enough for any single-line
// credential gitleaks describes; a PEM private key block may be long
// (an 8192-bit RSA key is about 6.5 KB).
const (
	defaultReach = 1 << 10
	longReach    = 16 << 10
	// back is how far before its keyword a match may start (gitleaks'
	// context-keyword rules allow 50 characters of name before it).
	back = 256
)

// longReaches are the rules whose matches may run far past the keyword.
var longReaches = map[string]bool{"private-key": true, "kubernetes-secret-yaml": true, "curl-auth-user": true, "curl-auth-header": true}

var loadRules = sync.OnceValues(func() (*ruleSet, error) { return parseRules(gitleaksTOML) })

// parseRules compiles a gitleaks configuration, leaving out excluded rules.
func parseRules(text string) (*ruleSet, error) {
	var c tomlConfig
	md, err := toml.Decode(text, &c)
	if err != nil {
		return nil, fmt.Errorf("gitleaks rules: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("gitleaks rules: settings Trove does not implement: %v", und)
	}
	rs := &ruleSet{}
	if rs.global, err = compileAllowlist(c.Allowlist); err != nil {
		return nil, fmt.Errorf("gitleaks rules: global allowlist: %w", err)
	}
	for _, tr := range c.Rules {
		if _, ok := excluded[tr.ID]; ok {
			continue
		}
		r := &rule{id: tr.ID, description: tr.Description, secretGroup: tr.SecretGroup, entropy: tr.Entropy, reach: defaultReach}
		r.heuristic = contextRules[tr.ID] || slices.ContainsFunc(contextPrefixes, func(p string) bool { return strings.HasPrefix(tr.Regex, p) })
		if longReaches[tr.ID] {
			r.reach = longReach
		}
		if tr.Regex == "" || len(tr.Keywords) == 0 {
			// Every rule Trove keeps is searched by keyword.
			return nil, fmt.Errorf("gitleaks rules: rule %s has no regex or no keywords: exclude it or implement it", tr.ID)
		}
		if r.re, err = regexp.Compile(tr.Regex); err != nil {
			return nil, fmt.Errorf("gitleaks rules: rule %s: %w", tr.ID, err)
		}
		if r.secretGroup > r.re.NumSubexp() {
			return nil, fmt.Errorf("gitleaks rules: rule %s: secretGroup %d of %d groups", tr.ID, r.secretGroup, r.re.NumSubexp())
		}
		if tr.Path != "" {
			if r.path, err = regexp.Compile(tr.Path); err != nil {
				return nil, fmt.Errorf("gitleaks rules: rule %s path: %w", tr.ID, err)
			}
		}
		for _, k := range tr.Keywords {
			r.keywords = append(r.keywords, strings.ToLower(k))
		}
		r.wordStart = wordStarts(tr.Regex, r.keywords)
		for _, ta := range tr.Allowlists {
			a, err := compileAllowlist(ta)
			if err != nil {
				return nil, fmt.Errorf("gitleaks rules: rule %s allowlist: %w", tr.ID, err)
			}
			r.allow = append(r.allow, a)
		}
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// wordStarts reports whether every match of expr starts at a word start
// with one of keywords: expr is \b followed by literal alternatives
// (\b(?:AKIA|ASIA…), \b(hvs\.…|s\.…)) that each begin with a word
// character and with a keyword. For such a rule a keyword found inside
// a word ("this.s.x", "desc_") is no hit: any match begins with another
// occurrence of a keyword, at a word start.
func wordStarts(expr string, keywords []string) bool {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return false
	}
	seq := flatten(re)
	if len(seq) < 2 || seq[0].Op != syntax.OpWordBoundary {
		return false
	}
	prefixes, _ := literals(&syntax.Regexp{Op: syntax.OpConcat, Sub: seq[1:]})
	if len(prefixes) == 0 {
		return false
	}
	for _, p := range prefixes {
		p = strings.ToLower(p)
		if p == "" || !isWordByte(p[0]) || !slices.ContainsFunc(keywords, func(k string) bool { return strings.HasPrefix(p, k) }) {
			return false
		}
	}
	return true
}

// flatten returns the sequence of re's leading concatenation, with
// captures opened.
func flatten(re *syntax.Regexp) []*syntax.Regexp {
	switch re.Op {
	case syntax.OpCapture:
		return flatten(re.Sub[0])
	case syntax.OpConcat:
		var out []*syntax.Regexp
		for i, sub := range re.Sub {
			if i == 0 {
				out = append(out, flatten(sub)...)
			} else {
				out = append(out, sub)
			}
		}
		return out
	}
	return []*syntax.Regexp{re}
}

// literals returns the literal strings every match of re begins with,
// and whether they are the whole of its matches.
func literals(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpCapture:
		return literals(re.Sub[0])
	case syntax.OpAlternate:
		var out []string
		whole := true
		for _, sub := range re.Sub {
			l, w := literals(sub)
			if l == nil {
				return nil, false
			}
			out = append(out, l...)
			whole = whole && w
		}
		return out, whole
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			l, w := literals(sub)
			if l == nil {
				return out, false
			}
			var next []string
			for _, a := range out {
				for _, b := range l {
					next = append(next, a+b)
				}
			}
			out = next
			if !w {
				return out, false
			}
		}
		return out, true
	}
	return nil, false
}

func compileAllowlist(ta tomlAllowlist) (allowlist, error) {
	a := allowlist{target: ta.RegexTarget}
	switch strings.ToUpper(ta.Condition) {
	case "", "OR":
	case "AND", "&&":
		a.and = true
	default:
		return a, fmt.Errorf("condition %q", ta.Condition)
	}
	switch ta.RegexTarget {
	case "", "secret":
		a.target = "secret"
	case "match", "line":
	default:
		return a, fmt.Errorf("regexTarget %q", ta.RegexTarget)
	}
	for _, p := range ta.Paths {
		re, err := regexp.Compile(p)
		if err != nil {
			return a, err
		}
		a.paths = append(a.paths, re)
	}
	for _, p := range ta.Regexes {
		re, err := regexp.Compile(p)
		if err != nil {
			return a, err
		}
		a.regexes = append(a.regexes, re)
	}
	for _, w := range ta.StopWords {
		a.stopwords = append(a.stopwords, strings.ToLower(w))
	}
	return a, nil
}

// pathAllowed reports whether a's paths exclude the file at path whatever
// its content: an "OR" allowlist with a matching path (gitleaks skips the
// file for the rule then).
func (a *allowlist) pathAllowed(path string) bool {
	return !a.and && anyMatch(a.paths, path)
}

// allowed reports whether a excludes a match: secret is the rule's
// secret, match the whole match, line the lines it is on, path the file.
func (a *allowlist) allowed(path, secret, match, line string) bool {
	target := secret
	switch a.target {
	case "match":
		target = match
	case "line":
		target = line
	}
	regexOK := target != "" && anyMatch(a.regexes, target)
	stop := false
	if secret != "" && len(a.stopwords) > 0 {
		low := strings.ToLower(secret)
		stop = slices.ContainsFunc(a.stopwords, func(w string) bool { return strings.Contains(low, w) })
	}
	if !a.and {
		return regexOK || stop
	}
	checks := 0
	ok := true
	if len(a.paths) > 0 {
		checks++
		ok = ok && anyMatch(a.paths, path)
	}
	if len(a.regexes) > 0 {
		checks++
		ok = ok && regexOK
	}
	if len(a.stopwords) > 0 {
		checks++
		ok = ok && stop
	}
	return checks > 0 && ok
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(s) })
}
