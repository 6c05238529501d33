package audit

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Limits on one read of the log.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// A Query is a read of the log as people write it, in a URL's query or
// a command's flags: user=NAME, package=ECOSYSTEM:NAME, action=NAME (or a
// prefix ending in ".": "npm."), outcome=OUTCOME, since=TIME, until=TIME
// (RFC 3339, or a day YYYY-MM-DD), before=ID (the page before that entry)
// and limit=N (at most MaxLimit).
type Query struct {
	User   string // "" for everyone the reader may see; resolved by the caller
	Filter meta.AuditFilter
	Limit  int
}

// ParseQuery parses a query; fold, if not nil, folds a package name as
// the registry keys it (a PyPI name's case and separators). Every problem
// is ErrInvalid with a message saying what to write.
func ParseQuery(v url.Values, fold func(trove.Ecosystem, string) string) (Query, error) {
	q := Query{User: strings.ToLower(strings.TrimSpace(v.Get("user"))), Limit: DefaultLimit}
	f := &q.Filter
	if p := v.Get("package"); p != "" {
		eco, name, ok := strings.Cut(p, ":")
		if !ok || eco == "" || name == "" {
			return q, trove.Error(trove.ErrInvalid, "package=%q: write ECOSYSTEM:NAME, such as npm:left-pad", cut(p, maxField))
		}
		f.Ecosystem, f.Package = eco, name
		if fold != nil {
			f.Package = fold(trove.Ecosystem(eco), name)
		}
	}
	if a := v.Get("action"); a != "" {
		if len(a) > maxField || strings.ContainsAny(a, " \t\r\n") {
			return q, trove.Error(trove.ErrInvalid, "action=%q is not a route name such as npm.publish (or a prefix such as npm.)", cut(a, maxField))
		}
		f.Action = a
	}
	if o := v.Get("outcome"); o != "" {
		if !slices.Contains(Outcomes, Outcome(o)) {
			return q, trove.Error(trove.ErrInvalid, "outcome=%q: want one of ok, denied, unauthenticated, invalid, error", cut(o, maxField))
		}
		f.Outcome = o
	}
	var err error
	if f.Since, err = parseTime("since", v.Get("since")); err != nil {
		return q, err
	}
	if f.Until, err = parseTime("until", v.Get("until")); err != nil {
		return q, err
	}
	if b := v.Get("before"); b != "" {
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before <= 0 {
			return q, trove.Error(trove.ErrInvalid, "before=%q is not an entry number", cut(b, maxField))
		}
	}
	if l := v.Get("limit"); l != "" {
		if q.Limit, err = strconv.Atoi(l); err != nil || q.Limit < 1 || q.Limit > MaxLimit {
			return q, trove.Error(trove.ErrInvalid, "limit=%q: want a number from 1 to %d", cut(l, maxField), MaxLimit)
		}
	}
	return q, nil
}

func parseTime(what, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, trove.Error(trove.ErrInvalid, "%s=%q: write a time like 2026-01-31T12:00:00Z or a day like 2026-01-31", what, cut(s, maxField))
}
