package secret

import (
	"time"

	"regexp"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// A Leaks scanner finds credentials of other services in uploads — cloud
// keys, private keys, provider API tokens — with gitleaks' rule set
// ([RulesVersion]) as data and a matcher of its own:
//
//   - every keyword of every rule is searched at once, ignoring case
//     (one Aho-Corasick automaton over each piece of a file);
//   - only around the keywords found is the rule's regular expression run
//     (from 256 bytes before a keyword to 1 KiB after it, 16 KiB for
//     private keys), once per rule over the merged spans of a piece; for
//     rules whose matches start a word with a keyword, occurrences inside
//     a word are skipped;
//   - a match is then dropped if its secret's Shannon entropy is at most
//     the rule's threshold, or if gitleaks' global allowlist or the rule's
//     allowlists (regexes, stopwords, paths) allow it.
//
// Files are walked as the Trove-token scanner walks them (same archive
// limits), read in 64 KiB pieces that overlap by what a match may span,
// so memory is one buffer of about 80 KiB per scan. Files gitleaks' global
// allowlist skips by path (images, fonts, lock files, bundled
// node_modules, .dist-info) are not read. Rules excluded as too noisy for
// packages are listed in docs/scanning.md.
//
// Findings have the scanner's verdict (reject by default), except that
// heuristics hold: context rules (a value named by its service), PEM
// private keys other than a cloud service account's, and anything in a
// test, fixture or example file, where private keys are no finding.
type Leaks struct {
	rules   *ruleSet
	idx     *keywordIndex
	verdict scan.Verdict
	// budget is the regexps' time per scan, and perMiB what each MiB
	// read adds to it (budgetBase, budgetPerMiB).
	budget, perMiB time.Duration
}

// NewLeaks returns the scanner, whose findings have the verdict v
// (scan.Reject or scan.Hold). It fails only if the embedded rules do not
// compile.
func NewLeaks(v scan.Verdict) (*Leaks, error) {
	rs, err := loadRules()
	if err != nil {
		return nil, err
	}
	if v != scan.Reject && v != scan.Hold {
		return nil, fmt.Errorf("secret: leaks verdict must be reject or hold, not %v", v)
	}
	return &Leaks{rules: rs, idx: rs.index(), verdict: v, budget: budgetBase, perMiB: budgetPerMiB}, nil
}

// index builds the keyword automaton of the rules.
func (rs *ruleSet) index() *keywordIndex {
	kw := make(map[string][]int)
	for i, r := range rs.rules {
		for _, k := range r.keywords {
			if !slices.Contains(kw[k], i) {
				kw[k] = append(kw[k], i)
			}
		}
	}
	return newKeywordIndex(kw)
}

// Name implements scan.Scanner.
func (*Leaks) Name() string { return "credentials" }

// A leak is a match of a rule that survived its checks.
type leak struct {
	rule   *rule
	secret string
	offset int64 // of the match in the file
	line   int   // 1-based, 0 in a binary file
	// account says a private key is the "private_key" of a cloud service
	// account's JSON key file: a credential, not just a key.
	account bool
}

// Scan implements scan.Scanner.
func (l *Leaks) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	var findings []scan.Finding
	more, moreVerdict := 0, scan.Publish // beyond MaxFindings: how many, the strictest verdict
	s := l.newSearch()
	for _, f := range a.Files {
		err := scan.Walk(ctx, f, func(member string, r io.Reader) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			fixture := fixturePath.MatchString(member)
			return s.search(member, r, func(k leak) {
				v := l.verdict
				switch {
				case fixture && k.rule.id == "private-key":
					return
				case fixture || k.rule.heuristic || k.rule.id == "private-key" && !k.account:
					v = min(v, scan.Hold)
				}
				if len(findings) >= MaxFindings {
					more++
					moreVerdict = max(moreVerdict, v)
					return
				}
				findings = append(findings, scan.Finding{Rule: k.rule.id, File: member, Line: k.line, Verdict: v,
					Message: describeLeak(k, fixture)})
			})
		})
		switch {
		case errors.Is(err, trove.ErrInvalid) || errors.Is(err, trove.ErrTooLarge):
			findings = append(findings, scan.Finding{Rule: "unreadable", File: f.Name, Verdict: scan.Reject,
				Message: fmt.Sprintf("%s could not be searched for credentials: %v", f.Name, err)})
		case err != nil:
			return nil, fmt.Errorf("searching %s for credentials: %w", f.Name, err)
		}
	}
	if s.exhausted {
		findings = append(findings, scan.Finding{Rule: "credentials-budget", Verdict: scan.Hold,
			Message: "this upload holds too many strings shaped like credentials to check them all: held for review"})
	}
	if more > 0 {
		findings = append(findings, scan.Finding{Rule: "credentials", Verdict: moreVerdict,
			Message: fmt.Sprintf("and %d more places holding credentials", more)})
	}
	return findings, nil
}

// describeLeak names the rule and shows at most the first 4 characters
// of the secret and its length, in ASCII (twine shows the message in a
// reason phrase).
func describeLeak(k leak, fixture bool) string {
	shown := ""
	for _, c := range []byte(k.secret) {
		if len(shown) == 4 || c < 0x21 || c > 0x7e {
			break
		}
		shown += string(c)
	}
	where := ""
	if k.line == 0 {
		where = fmt.Sprintf(" at byte %d of this binary file", k.offset)
	}
	what := fmt.Sprintf("%s (gitleaks rule %s: %q..., %d characters%s)", ruleName(k.rule), k.rule.id, shown, len(k.secret), where)
	switch {
	case fixture:
		return what + " in a test file: held for review; if it is a real credential, revoke it with its issuer, " +
			"and use one that is clearly fake in tests"
	case k.rule.heuristic:
		return what + ": held for review; if it is a real credential, remove it from the package and revoke it with its issuer"
	case k.account:
		return "the private key of a cloud service account" + what[len("a private key"):] +
			"; credentials do not belong in packages: remove it and delete the key in the account"
	case k.rule.id == "private-key":
		return what + ": held for review; if it is a real key, remove it from the package and replace it"
	}
	return what + "; credentials do not belong in packages: remove it and revoke it with its issuer"
}

// fixturePath matches the archive members that are tests, fixtures or
// examples: a path segment (or file name) that is, or has a part
// separated by '.', '_' or '-' that is, test, tests, testdata, testing,
// fixture(s), spec, example(s), sample(s), mock(s) and the like
// (lib/foo_test.go, tests/conf.py, test_data/key.pem, __tests__/a.js).
// Credentials found there are held rather than rejected (a library's
// tests carry sample credentials on purpose), and private keys there are
// not findings at all: test certificates are in every TLS library.
var fixturePath = regexp.MustCompile(`(?i)(?:^|/)(?:[^/]*[._-])?(?:_*tests?_*|testdata|test_data|testing|testcerts|` +
	`_*fixtures?_*|specs?|examples?|samples?|mocks?)(?:[._-][^/]*)?(?:/|$)`)

// names are the readable names of common rules; others are named by
// their id.
var names = map[string]string{
	"aws-access-token":              "an AWS access key ID",
	"gcp-api-key":                   "a Google Cloud API key",
	"private-key":                   "a private key",
	"github-pat":                    "a GitHub personal access token",
	"github-fine-grained-pat":       "a GitHub fine-grained personal access token",
	"github-oauth":                  "a GitHub OAuth access token",
	"github-app-token":              "a GitHub App token",
	"github-refresh-token":          "a GitHub refresh token",
	"gitlab-pat":                    "a GitLab personal access token",
	"slack-bot-token":               "a Slack bot token",
	"slack-user-token":              "a Slack user token",
	"slack-webhook-url":             "a Slack webhook URL",
	"stripe-access-token":           "a Stripe API key",
	"npm-access-token":              "an npm access token",
	"pypi-upload-token":             "a PyPI upload token",
	"azure-ad-client-secret":        "an Azure AD client secret",
	"openai-api-key":                "an OpenAI API key",
	"anthropic-api-key":             "an Anthropic API key",
	"huggingface-access-token":      "a Hugging Face access token",
	"sendgrid-api-token":            "a SendGrid API token",
	"twilio-api-key":                "a Twilio API key",
	"digitalocean-pat":              "a DigitalOcean personal access token",
	"shopify-access-token":          "a Shopify access token",
	"hashicorp-tf-api-token":        "a Terraform Cloud API token",
	"vault-service-token":           "a Vault service token",
	"alibaba-access-key-id":         "an Alibaba Cloud access key ID",
	"doppler-api-token":             "a Doppler API token",
	"databricks-api-token":          "a Databricks API token",
	"grafana-service-account-token": "a Grafana service account token",
}

func ruleName(r *rule) string {
	if n, ok := names[r.id]; ok {
		return n
	}
	return "a credential (" + strings.ReplaceAll(r.id, "-", " ") + ")"
}

// Sizes of the search buffer.
const (
	// overlapAfter is how much past the bytes a round owns is kept for
	// the rules' reach.
	overlapAfter = longReach
	leakBuf      = back + chunk + overlapAfter
	// budgetBase and budgetPerMiB bound the time the regexps may take
	// per scan (see leakSearch): ordinary code takes under 20 ms per MiB,
	// text made of keywords up to seconds.
	budgetBase   = 2 * time.Second
	budgetPerMiB = 200 * time.Millisecond
	// maxSeen bounds the matches remembered to drop those found twice in
	// overlapping windows.
	maxSeen = 4096
)

// A span is a range of the buffer a rule's regexp runs over.
type span struct{ from, to int }

// A leakSearch is the state of one scan: its buffer and scratch space.
type leakSearch struct {
	l   *Leaks
	buf []byte
	// The regexps' work is bounded per scan: they may run for
	// budgetBase plus budgetPerMiB for each MiB read. Text crowded with
	// keywords (hostile, or very unusual) exhausts it: the rest of the
	// scan is then not checked, and the upload is held (exhausted).
	read       int64
	regexpTime time.Duration
	exhausted  bool
	spans      map[int][]span // rule index → spans, this round
	found      []leak
	seen       map[[3]int64]bool
}

func (l *Leaks) newSearch() *leakSearch {
	return &leakSearch{l: l, buf: make([]byte, leakBuf), spans: make(map[int][]span), seen: make(map[[3]int64]bool)}
}

// search reads r (the file at path) to its end and calls found for each
// leak in it, in order within each 64 KiB piece.
func (s *leakSearch) search(path string, r io.Reader, found func(leak)) error {
	rs := s.l.rules
	if rs.global.pathAllowed(path) || sourceMap.MatchString(path) {
		return nil
	}
	clear(s.seen)
	if s.exhausted {
		return nil
	}
	buf := s.buf
	n := 0         // bytes in buf
	own := 0       // where the bytes this round owns start
	var base int64 // offset in the file of buf[0]
	line := 1      // line number of buf[0]
	sniffed, binary := false, false
	for {
		m, err := io.ReadFull(r, buf[n:])
		n += m
		s.read += int64(m)
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return err
		}
		if !sniffed {
			binary = bytes.IndexByte(buf[:min(n, binarySniff)], 0) >= 0
			sniffed = true
		}
		end := n // end of the owned bytes
		if !eof {
			end = n - overlapAfter
		}
		s.round(path, base, own, end, n, binary)
		if len(s.found) > 0 {
			slices.SortFunc(s.found, func(a, b leak) int { return int(a.offset - b.offset) })
			at, ln := 0, line
			for i := range s.found {
				k := &s.found[i]
				if !binary {
					pos := int(k.offset - base)
					ln += bytes.Count(buf[at:pos], []byte{'\n'})
					at = pos
					k.line = ln
				}
				found(*k)
			}
			s.found = s.found[:0]
		}
		if eof {
			return nil
		}
		keep := end - back
		if !binary {
			line += bytes.Count(buf[:keep], []byte{'\n'})
		}
		copy(buf, buf[keep:n])
		n -= keep
		base += int64(keep)
		own = back
	}
}

// round searches the keywords starting in buf[own:end], runs the rules
// whose keywords it found over the spans around them in buf[:n], and
// collects their leaks in s.found.
func (s *leakSearch) round(path string, base int64, own, end, n int, binary bool) {
	buf := s.buf
	clear(s.spans)
	rules := s.l.rules.rules
	s.l.idx.find(buf[own:min(n, end+s.l.idx.maxLen-1)], func(start int, rs []int) {
		p := own + start
		if p >= end {
			return
		}
		for _, ri := range rs {
			if rules[ri].wordStart && p > 0 && isWordByte(buf[p-1]) {
				continue
			}
			sp := span{max(0, p-back), min(n, p+rules[ri].reach)}
			ss := s.spans[ri]
			if k := len(ss) - 1; k >= 0 && sp.from <= ss[k].to {
				ss[k].to = max(ss[k].to, sp.to)
				ss[k].from = min(ss[k].from, sp.from)
				continue
			}
			s.spans[ri] = append(ss, sp)
		}
	})
	for ri, ss := range s.spans {
		r := rules[ri]
		if r.path != nil && !r.path.MatchString(path) {
			continue
		}
		if slices.ContainsFunc(r.allow, func(a allowlist) bool { return a.pathAllowed(path) }) {
			continue
		}
		for _, sp := range ss {
			if s.regexpTime > s.l.budget+time.Duration(s.read>>20)*s.l.perMiB {
				s.exhausted = true
				return
			}
			text := buf[sp.from:sp.to]
			start := time.Now()
			matches := r.re.FindAllSubmatchIndex(text, -1)
			s.regexpTime += time.Since(start)
			for _, m := range matches {
				s.check(path, base, sp.from, text, r, ri, m)
			}
		}
	}
}

// check applies a rule's secret group, entropy and allowlists to its
// match m in text (at buffer offset from) and records it if it stands.
func (s *leakSearch) check(path string, base int64, from int, text []byte, r *rule, ri int, m []int) {
	// gitleaks trims newlines off the match.
	for m[1] > m[0] && text[m[1]-1] == '\n' {
		m[1]--
	}
	for m[0] < m[1] && text[m[0]] == '\n' {
		m[0]++
	}
	match := string(text[m[0]:m[1]])
	secret := match
	switch g := r.secretGroup; {
	case g > 0:
		if m[2*g] >= 0 {
			secret = string(text[m[2*g]:min(m[2*g+1], m[1])])
		}
	default:
		for g := 1; 2*g < len(m); g++ {
			if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
				secret = string(text[m[2*g]:min(m[2*g+1], max(m[1], m[2*g]))])
				break
			}
		}
	}
	if secret == "" {
		return
	}
	if r.entropy != 0 && shannon(secret) <= r.entropy {
		return
	}
	if r.id == "private-key" && !plausibleKey(string(match)) {
		return // an elided example
	}
	lineText := ""
	lineFrom := bytes.LastIndexByte(text[:m[0]], '\n') + 1
	lineTo := bytes.IndexByte(text[m[1]:], '\n')
	if lineTo < 0 {
		lineTo = len(text)
	} else {
		lineTo += m[1]
	}
	lineText = string(text[lineFrom:lineTo])
	if s.l.rules.global.allowed(path, secret, match, lineText) {
		return
	}
	for i := range r.allow {
		if r.allow[i].allowed(path, secret, match, lineText) {
			return
		}
	}
	off := base + int64(from+m[0])
	key := [3]int64{int64(ri), off, int64(m[1] - m[0])}
	if s.seen[key] {
		return
	}
	if len(s.seen) < maxSeen {
		s.seen[key] = true
	}
	account := r.id == "private-key" && strings.Contains(lineText, `"private_key"`)
	s.found = append(s.found, leak{rule: r, secret: secret, offset: off, account: account})
}

// shannon is the Shannon entropy of s in bits per character, as gitleaks
// computes it (over runes, divided by the length in bytes).
func shannon(s string) float64 {
	counts := make(map[rune]int, 64)
	for _, c := range s {
		counts[c]++
	}
	h := 0.0
	inv := 1 / float64(len(s))
	for _, n := range counts {
		f := float64(n) * inv
		h -= f * math.Log2(f)
	}
	return h
}
