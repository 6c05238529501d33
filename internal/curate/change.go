package curate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Kinds of mark.
const (
	kindAllow     = "allow"
	kindDeny      = "deny"
	kindMalicious = "malicious"
	kindTag       = "tag"
)

// Kinds of transparency-log record this package writes.
const (
	kindPolicy = "policy"
	kindCurate = "curate"
)

// inherit is how a policy change says a setting comes from a less
// specific policy.
const inherit = "inherit"

// A PolicyChange changes the policy of an ecosystem's pattern. Nil
// fields keep the current setting; "inherit" (MinAge: a negative
// duration) removes it, so a less specific policy's applies.
type PolicyChange struct {
	Ecosystem      trove.Ecosystem
	Pattern        string // "*", a pattern such as "@acme/*", or a name
	Mode           *string
	MinAge         *time.Duration
	InstallScripts *string
	Why            string
}

// SetPolicy changes a policy, as who, and logs the policy that results.
func (s *Service) SetPolicy(ctx context.Context, who *access.Principal, c PolicyChange) (*Policy, error) {
	rules, err := s.rules(c.Ecosystem)
	if err != nil {
		return nil, err
	}
	t, err := parseTarget(rules, c.Pattern, true)
	if err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, who, t); err != nil {
		return nil, err
	}
	old, err := s.db.CurationPolicies(ctx, c.Ecosystem, t.name)
	if err != nil {
		return nil, err
	}
	p := meta.CurationPolicy{Ecosystem: c.Ecosystem, Pattern: t.name, MinAge: -1}
	if len(old) == 1 {
		p = old[0]
	}
	c.merge(&p)
	p.Why, p.SetBy, p.SetAt = c.Why, who.UserName, s.now().UTC().Truncate(time.Second)
	// The policy must still be the one merged into, held so until the
	// commit (PostgreSQL runs writers concurrently).
	unchanged := func(ctx context.Context, tx *meta.Tx) error {
		if err := tx.LockName(ctx, string(c.Ecosystem), "curation policy "+t.name); err != nil {
			return err
		}
		now, err := tx.CurationPolicies(ctx, c.Ecosystem, t.name)
		if err != nil {
			return err
		}
		if len(now) != len(old) || len(now) == 1 && now[0] != old[0] {
			return trove.Error(trove.ErrExists, "the policy of %s:%s changed while this change was made: look at it again (trove policy show) and repeat the change", c.Ecosystem, t.name)
		}
		return nil
	}
	if err := s.reg.Record(ctx, policyEvent(p), unchanged); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return nil, trove.Error(trove.ErrExists, "the policy of %s:%s changed while this change was made: look at it again (trove policy show) and repeat the change", c.Ecosystem, t.name)
		}
		return nil, err
	}
	out := Policy(p)
	return &out, nil
}

// check validates the change's fields.
func (c PolicyChange) check() error {
	if c.Mode == nil && c.MinAge == nil && c.InstallScripts == nil {
		return trove.Error(trove.ErrInvalid, "no policy setting to change: give --mode, --min-age or --install-scripts")
	}
	if c.Mode != nil && !oneOf(*c.Mode, ModeOpen, ModeApprovedOnly, inherit) {
		return trove.Error(trove.ErrInvalid, "mode %q: want open, approved-only or inherit", *c.Mode)
	}
	if c.InstallScripts != nil && !oneOf(*c.InstallScripts, "allow", "block", inherit) {
		return trove.Error(trove.ErrInvalid, "install scripts %q: want allow, block or inherit", *c.InstallScripts)
	}
	if c.MinAge != nil && *c.MinAge > MaxMinAge {
		return trove.Error(trove.ErrInvalid, "minimum age %s: at most %s", *c.MinAge, age(MaxMinAge))
	}
	return checkWhy(c.Why, false)
}

// MaxMinAge bounds a cool-down: a year.
const MaxMinAge = 365 * 24 * time.Hour

// merge applies the change to p.
func (c PolicyChange) merge(p *meta.CurationPolicy) {
	if c.Mode != nil {
		p.Mode = strings.TrimPrefix(*c.Mode, inherit)
	}
	if c.InstallScripts != nil {
		p.Scripts = strings.TrimPrefix(*c.InstallScripts, inherit)
	}
	if c.MinAge != nil {
		p.MinAge = c.MinAge.Truncate(time.Second)
		if *c.MinAge < 0 {
			p.MinAge = -1
		}
	}
}

func oneOf(s string, want ...string) bool {
	for _, w := range want {
		if s == w {
			return true
		}
	}
	return false
}

// A MarkChange adds or removes a curator's mark.
type MarkChange struct {
	Ecosystem trove.Ecosystem
	Name      string // a package name; for allow, deny and malicious also a pattern
	Versions  string // "*" or "" for all, one version, or a range; one version for a tag
	Kind      string // allow, deny, malicious or tag
	Tag       string // for kind tag: approved, …
	Why       string
	Remove    bool
}

// Kinds of MarkChange.
const (
	Allow     = kindAllow
	Deny      = kindDeny
	Malicious = kindMalicious
	Tag       = kindTag
)

// Mark adds or removes a mark, as who, and logs it. Adding a mark that
// exists, or removing one that does not, is ErrExists or ErrNotFound.
func (s *Service) Mark(ctx context.Context, who *access.Principal, c MarkChange) (*Mark, error) {
	m, t, err := s.parseMark(c)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, who, t); err != nil {
		return nil, err
	}
	m.SetBy, m.SetAt = who.UserName, s.now().UTC().Truncate(time.Second)
	err = s.reg.Record(ctx, markEvent(m, c.Remove), nil)
	switch {
	case errors.Is(err, meta.ErrConflict):
		return nil, trove.Error(trove.ErrExists, "%s is already marked %s", describe(m.Ecosystem, m.Name, m.Versions), m.label())
	case errors.Is(err, meta.ErrNotFound):
		return nil, trove.Error(trove.ErrNotFound, "%s is not marked %s", describe(m.Ecosystem, m.Name, m.Versions), m.label())
	case err != nil:
		return nil, err
	}
	out := Mark(m.CurationMark)
	return &out, nil
}

// parseMark checks a mark change before anything is read.
func (s *Service) parseMark(c MarkChange) (mark, target, error) {
	rules, err := s.rules(c.Ecosystem)
	if err != nil {
		return mark{}, target{}, err
	}
	if !oneOf(c.Kind, kindAllow, kindDeny, kindMalicious, kindTag) {
		return mark{}, target{}, trove.Error(trove.ErrInvalid, "mark %q: want allow, deny, malicious or tag", c.Kind)
	}
	t, err := parseTarget(rules, c.Name, c.Kind != kindTag)
	if err != nil {
		return mark{}, target{}, err
	}
	sp, err := parseSpec(rules, c.Versions)
	if err != nil {
		return mark{}, target{}, err
	}
	tag := ""
	if c.Kind == kindTag {
		if sp.key == "" {
			return mark{}, target{}, trove.Error(trove.ErrInvalid, "a tag is on one version: give the version to tag")
		}
		if tag = c.Tag; tag == "" {
			tag = ApprovedTag
		}
		if err := checkTag(tag); err != nil {
			return mark{}, target{}, err
		}
	}
	if err := checkWhy(c.Why, !c.Remove); err != nil {
		return mark{}, target{}, err
	}
	m := mark{CurationMark: meta.CurationMark{Ecosystem: c.Ecosystem, Name: t.name, Versions: sp.text, Kind: c.Kind, Tag: tag, Why: c.Why}, spec: sp}
	return m, t, nil
}

// checkTag refuses a tag name that is not one word of letters, digits,
// '-', '_' or '.'.
func checkTag(tag string) error {
	if len(tag) > 64 || strings.IndexFunc(tag, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) >= 0 {
		return trove.Error(trove.ErrInvalid, "tag %q: a tag is up to 64 letters, digits, '-', '_' or '.'", tag)
	}
	return nil
}

// label returns "deny", "malicious", "approved" for people.
func (m mark) label() string {
	if m.Kind == kindTag {
		return m.Tag
	}
	return m.Kind
}

// IsCurator reports whether the user may curate besides administrators.
func (s *Service) IsCurator(ctx context.Context, userID int64) (bool, error) {
	return s.db.IsCurator(ctx, userID)
}

// recordError is the error of a recorder about a record it cannot apply.
func recordError(ev *translog.Event, format string, args ...any) error {
	return fmt.Errorf("%s record of %s %s: %s", ev.Kind, ev.Ecosystem, ev.Name, fmt.Sprintf(format, args...))
}

// ParseMinAge reads a minimum age as people write it: a Go duration
// ("72h", "90m"), a whole number of days ("3d"), "0" for none, or
// "inherit" (returned as -1).
func ParseMinAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := trove.Error(trove.ErrInvalid, "minimum age %q: want a duration like 72h or 3d, 0, or inherit", s)
	switch {
	case s == inherit:
		return -1, nil
	case s == "0":
		return 0, nil
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 || n > int(MaxMinAge/(24*time.Hour)) {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bad
	}
	return d.Truncate(time.Second), nil
}

// FeedMalicious records, for an advisory feed (the scanning and
// advisories issues' hook), that versions of a package or of the packages
// matching a pattern are malicious, or with c.Remove that they no longer
// are. It needs no principal: the feed is the system's own, named in the
// record ("by feed:<name>"). c.Kind is ignored.
func (s *Service) FeedMalicious(ctx context.Context, feed string, c MarkChange) error {
	if err := checkTag(feed); err != nil || feed == "" {
		return trove.Error(trove.ErrInvalid, "feed name %q: a word of letters, digits, '-', '_' or '.'", feed)
	}
	c.Kind = kindMalicious
	m, _, err := s.parseMark(c)
	if err != nil {
		return err
	}
	m.SetBy, m.SetAt = "feed:"+feed, s.now().UTC().Truncate(time.Second)
	err = s.reg.Record(ctx, markEvent(m, c.Remove), nil)
	switch {
	case errors.Is(err, meta.ErrConflict):
		return trove.Error(trove.ErrExists, "%s is already marked malicious", describe(m.Ecosystem, m.Name, m.Versions))
	case errors.Is(err, meta.ErrNotFound):
		return trove.Error(trove.ErrNotFound, "%s is not marked malicious", describe(m.Ecosystem, m.Name, m.Versions))
	}
	return err
}
