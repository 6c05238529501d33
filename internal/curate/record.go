package curate

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Curation records carry every fact of the change they log, so that
// recovery replays them (registry.Recorder). A policy record holds the
// whole policy that results:
//
//	trove-event 1
//	policy npm @acme/*
//	time 2026-12-01T10:00:00Z
//	reason "72 hours before new releases"
//	@acme/* mode open|approved-only|inherit
//	@acme/* min-age <seconds>s|inherit
//	@acme/* install-scripts allow|block|inherit
//	@acme/* by <user>
//
// A curate record adds or removes one mark (the version on the second
// line when the mark is on one version):
//
//	trove-event 1
//	curate npm left-pad 1.3.0
//	time 2026-12-01T10:00:00Z
//	reason "reviewed"
//	left-pad add|remove tag approved      (or: allow -, deny -, malicious -)
//	left-pad versions <"*", the version, or the range's words>
//	left-pad by <user>

// policyEvent returns the record of a policy as set.
func policyEvent(p meta.CurationPolicy) *translog.Event {
	why := p.Why
	n := p.Pattern
	ev := &translog.Event{Kind: kindPolicy, Ecosystem: string(p.Ecosystem), Name: n, Time: p.SetAt, Reason: &why}
	minAge := inherit
	if p.MinAge >= 0 {
		minAge = strconv.FormatInt(int64(p.MinAge/time.Second), 10) + "s"
	}
	ev.Lines = []string{
		n + " mode " + orInherit(p.Mode),
		n + " min-age " + minAge,
		n + " install-scripts " + orInherit(p.Scripts),
		n + " by " + p.SetBy,
	}
	return ev
}

func orInherit(s string) string {
	if s == "" {
		return inherit
	}
	return s
}

// markEvent returns the record of adding or removing a mark.
func markEvent(m mark, remove bool) *translog.Event {
	why := m.Why
	n := m.Name
	ev := &translog.Event{Kind: kindCurate, Ecosystem: string(m.Ecosystem), Name: n, Time: m.SetAt, Reason: &why}
	if m.spec.key != "" {
		ev.Version = m.spec.key
	}
	op, tag := "add", "-"
	if remove {
		op = "remove"
	}
	if m.Kind == kindTag {
		tag = m.Tag
	}
	ev.Lines = []string{n + " " + op + " " + m.Kind + " " + tag, n + " versions " + m.Versions, n + " by " + m.SetBy}
	return ev
}

// fields returns the record's lines as key → words after the name.
func fields(ev *translog.Event) map[string][]string {
	out := make(map[string][]string)
	for _, l := range ev.Lines {
		f := strings.Split(l, " ")
		if len(f) >= 2 && f[0] == ev.Name {
			out[f[1]] = f[2:]
		}
	}
	return out
}

// one returns the single word of a line, or "".
func one(f map[string][]string, key string) string {
	if len(f[key]) != 1 {
		return ""
	}
	return f[key][0]
}

// policyRecorder applies policy records.
type policyRecorder struct{}

func (policyRecorder) Apply(ctx context.Context, tx *meta.Tx, ev *translog.Event) error {
	f := fields(ev)
	p := meta.CurationPolicy{Ecosystem: trove.Ecosystem(ev.Ecosystem), Pattern: ev.Name, SetAt: ev.Time,
		Mode: strings.TrimPrefix(one(f, "mode"), inherit), Scripts: strings.TrimPrefix(one(f, "install-scripts"), inherit),
		SetBy: one(f, "by"), MinAge: -1}
	if ev.Reason != nil {
		p.Why = *ev.Reason
	}
	switch a := one(f, "min-age"); {
	case a == inherit:
	case strings.HasSuffix(a, "s"):
		secs, err := strconv.ParseInt(strings.TrimSuffix(a, "s"), 10, 64)
		if err != nil || secs < 0 {
			return recordError(ev, "min-age %q is not a number of seconds", a)
		}
		p.MinAge = time.Duration(secs) * time.Second
	default:
		return recordError(ev, "min-age %q is not a number of seconds", a)
	}
	if p.SetBy == "" || !oneOf(one(f, "mode"), ModeOpen, ModeApprovedOnly, inherit) || !oneOf(one(f, "install-scripts"), "allow", "block", inherit) {
		return recordError(ev, "it lacks a valid mode, install-scripts or by line")
	}
	return tx.SetCurationPolicy(ctx, p)
}

// markRecorder applies curate records.
type markRecorder struct{}

func (markRecorder) Apply(ctx context.Context, tx *meta.Tx, ev *translog.Event) error {
	f := fields(ev)
	var op, kind, tag string
	if w := f["add"]; len(w) == 2 {
		op, kind, tag = "add", w[0], w[1]
	} else if w := f["remove"]; len(w) == 2 {
		op, kind, tag = "remove", w[0], w[1]
	}
	m := meta.CurationMark{Ecosystem: trove.Ecosystem(ev.Ecosystem), Name: ev.Name, Versions: strings.Join(f["versions"], " "),
		Kind: kind, Tag: strings.TrimPrefix(tag, "-"), SetBy: one(f, "by"), SetAt: ev.Time}
	if ev.Reason != nil {
		m.Why = *ev.Reason
	}
	if op == "" || m.Versions == "" || m.SetBy == "" || !oneOf(kind, kindAllow, kindDeny, kindMalicious, kindTag) {
		return recordError(ev, "it lacks a valid add or remove, versions or by line")
	}
	if op == "remove" {
		return tx.RemoveCurationMark(ctx, m)
	}
	return tx.AddCurationMark(ctx, &m)
}
