package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Reports and the administrators' queue
//
// Anyone signed in reports a package, or one version of it, as malicious
// (or spam, a typosquat, other abuse) with a reason. A reporter learns
// nothing of other reports: a report is accepted, or refused for its own
// fault (a bad category, a reason too long, a target the reporter cannot
// see, their own open report on it already, their rate limit). The
// administrators see the open reports grouped by target, beside the held
// uploads and the quarantined releases, and act: quarantine (a visible
// release is taken out of view while they look into it, see
// quarantine.go), remove (a takedown: the release becomes a tombstone,
// logged as a takedown record, and, when malicious, an OSV advisory),
// release (a held upload is published, a quarantined release comes
// back), or dismiss (the reports were wrong). Each action closes the target's reports and tells the package's
// owners and the reporters (TakedownNotice).

// Report categories.
var ReportCategories = []string{"malicious", "spam", "typosquat", "other"}

// Limits on reports.
const (
	// MaxReportReason bounds a report's reason, in bytes.
	MaxReportReason = 2000
	// MaxQueued bounds the targets with open reports the queue lists.
	MaxQueued = 1000
	// reasonsShown is how many reports of one target the queue shows.
	reasonsShown = 10
)

// DefaultReportRate is how many reports one user may file: 10 per hour.
var DefaultReportRate = limit.Rate{N: 10, Per: time.Hour}

// takedownPrefix starts the reason of a takedown record made because the
// release is malicious: those, and only those, are OSV advisories (and
// replay rebuilds the advisories from them).
const takedownPrefix = "malicious: "

// SetReportRate sets the limiter of the reports one user may file, keyed
// "user:ID" (New sets DefaultReportRate, kept in memory; trove serve keeps
// it in a shared database when there is one). Call it before serving.
func (s *Service) SetReportRate(rates *limit.Rates) { s.reportRates = rates }

// A ReportInput is a report as a user files it.
type ReportInput struct {
	Target   trove.Target // Version "" for the whole package
	Category string
	Reason   string
}

// Report files who's report. The target must be a package (and release)
// who can see; the same user's second open report on a target is
// ErrExists; beyond the user's rate it is ErrTooMany with when to retry.
func (s *Service) Report(ctx context.Context, who *access.Principal, in ReportInput) error {
	if who == nil || who.UserID == 0 {
		return fmt.Errorf("%w: reporting a package needs a signed-in user's token", access.ErrUnauthenticated)
	}
	t := in.Target
	switch {
	case !slicesContains(ReportCategories, in.Category):
		return trove.Error(trove.ErrInvalid, "unknown report category %q: use one of %s", in.Category, strings.Join(ReportCategories, ", "))
	case strings.TrimSpace(in.Reason) == "":
		return trove.Error(trove.ErrInvalid, "a report needs a reason: say what you found and where, for the administrators")
	}
	if err := checkText("report's reason", in.Reason, MaxReportReason); err != nil {
		return err
	}
	_, n, key, err := s.parse(t.Ecosystem, t.Name, t.Version)
	if err != nil {
		return err
	}
	pkg, err := s.visiblePackage(ctx, t.Ecosystem, n, t.Name, false)
	if err != nil {
		return err
	}
	version := ""
	if t.Version != "" {
		rel, err := s.db.Release(ctx, pkg.ID, key)
		if errors.Is(err, meta.ErrNotFound) || err == nil && !rel.State.Visible() {
			return trove.Error(trove.ErrNotFound, "version %s of %s not found", t.Version, t.Name)
		}
		if err != nil {
			return err
		}
		version = rel.Version
	}
	if ok, wait := s.reportRates.Allow("user:" + strconv.FormatInt(who.UserID, 10)); !ok {
		return trove.Retry(wait, trove.ErrTooMany, "you have filed too many reports; try again in %s", wait.Round(time.Second))
	}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		_, err := tx.InsertReport(ctx, &meta.Report{UserID: who.UserID, Ecosystem: pkg.Ecosystem, Name: pkg.Name, Version: version,
			Category: in.Category, Reason: in.Reason, At: now(s)})
		return err
	})
	if errors.Is(err, meta.ErrConflict) {
		return trove.Error(trove.ErrExists, "you already reported %s %s; the administrators have it", t.Ecosystem, strings.TrimSpace(t.Name+" "+version))
	}
	return err
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A Queue is what waits for the administrators: the open reports, by
// target, and the uploads held for review.
type Queue struct {
	Reports     []*ReportedTarget
	Held        []*meta.HeldRelease
	Quarantined []*meta.QuarantinedRelease // visible releases taken out of view
}

// A ReportedTarget is a package or release with open reports.
type ReportedTarget struct {
	Ecosystem   trove.Ecosystem
	Name        string // as displayed
	Version     string // "" for the whole package
	Count       int
	First       time.Time
	Categories  []string // of the first reports (at most 10), oldest first
	Reasons     []string
	Reporters   []string
	Private     bool
	Visible     bool // the release (or package) is still visible
	HeldRelease bool // the release is held for review
	Quarantined bool // the release is quarantined
}

// Queue returns the administrators' queue; only administrators may read
// it, with a token that may act on it (the yank action): it names the
// reporters.
func (s *Service) Queue(ctx context.Context, who *access.Principal) (*Queue, error) {
	if err := who.CheckAdmin(access.Yank); err != nil {
		return nil, err
	}
	rs, err := s.db.OpenReports(ctx, MaxQueued, reasonsShown)
	if err != nil {
		return nil, err
	}
	q := &Queue{Reports: []*ReportedTarget{}}
	for _, r := range rs {
		t := &ReportedTarget{Ecosystem: r.Ecosystem, Name: string(r.Name), Version: r.Version, Count: r.Count, First: r.First,
			Categories: r.Categories, Reasons: r.Reasons, Reporters: r.Reporters}
		if pkg, err := s.db.Package(ctx, r.Ecosystem, r.Name); err == nil {
			t.Name, t.Private = pkg.DisplayName, pkg.Private
			t.Visible = true
			if r.Version != "" {
				rel, err := s.db.Release(ctx, pkg.ID, s.versionKey(r.Ecosystem, r.Version))
				t.Visible = err == nil && rel.State.Visible()
				t.Quarantined = err == nil && rel.State == trove.Suspended
				if err == nil {
					if _, err := s.db.HoldOf(ctx, rel.ID); err == nil {
						t.HeldRelease = true
					}
				}
			}
		}
		q.Reports = append(q.Reports, t)
	}
	if q.Held, err = s.HeldReleases(ctx); err != nil {
		return nil, err
	}
	if q.Quarantined, err = s.db.QuarantinedReleases(ctx, MaxQueued); err != nil {
		return nil, err
	}
	return q, nil
}

// versionKey is the ecosystem's key of a version, or the version itself.
func (s *Service) versionKey(eco trove.Ecosystem, version string) string {
	if r := s.rules[eco]; r != nil {
		if k, err := r.VersionKey(version); err == nil {
			return k
		}
	}
	return version
}

// A Decision is an administrator's action on a queued target, as the
// people told about it see it.
type Decision struct {
	Package *trove.Package
	Version string // "" for the whole package
	// Action is "removed", "released", "dismissed" or "quarantined".
	Action string
	// Quarantine is set when the release was quarantined: Action
	// "quarantined", or "released" from quarantine.
	Quarantine bool
	// Reason is the administrator's reason.
	Reason string
	// Malicious is set for a removal as malicious (an OSV advisory).
	Malicious bool
	// Owners are the package's owners; Reporters the users whose open
	// reports the decision closed.
	Owners, Reporters []int64
}

// A TakedownNotice tells the owners and the reporters of a decision. It
// runs in the decision's transaction.
type TakedownNotice func(ctx context.Context, tx *meta.Tx, d Decision) error

// SetTakedownNotice sets who hears of the administrators' decisions (nil:
// nobody). Call it before serving.
func (s *Service) SetTakedownNotice(n TakedownNotice) { s.takedownNotice = n }

// tell runs the takedown notice, if any.
func (s *Service) tell(ctx context.Context, tx *meta.Tx, d Decision) error {
	if s.takedownNotice == nil {
		return nil
	}
	owners, err := tx.Owners(ctx, d.Package.ID)
	if err != nil {
		return err
	}
	for _, u := range owners {
		d.Owners = append(d.Owners, u.ID)
	}
	return s.takedownNotice(ctx, tx, d)
}

// TakeDown removes a release for good, as an administrator's decision: it
// becomes a tombstone like a deletion (its version and filenames stay
// taken), the transparency log gets a takedown record with the reason
// (prefixed "malicious: " when malicious, which makes it an OSV
// advisory), and the open reports on the release and its package are
// closed. The owners' unpublish window and dependents do not apply.
func (s *Service) TakeDown(ctx context.Context, who *access.Principal, t trove.Target, reason string, malicious bool) error {
	if err := who.CheckAdmin(access.Yank); err != nil {
		return err
	}
	s.note(ctx, t.Ecosystem, t.Name, t.Version)
	return s.Apply(ctx, who, t.Ecosystem, t.Name, &Takedown{Version: t.Version, Reason: reason, Malicious: malicious})
}

// A Takedown is an administrator's removal of a release (see
// [Service.TakeDown]).
type Takedown struct {
	Version, Reason string
	Malicious       bool
}

func (c *Takedown) describe() (string, access.Action, string) {
	return "takedown", access.Yank, c.Version
}

func (c *Takedown) suspendedOK() {}

func (c *Takedown) check() error {
	if err := versionNeeded("taking down", c.Version); err != nil {
		return err
	}
	if strings.TrimSpace(c.Reason) == "" {
		return trove.Error(trove.ErrInvalid, "a takedown needs a reason, which goes into the transparency log and the owners' mail")
	}
	return checkText("takedown reason", takedownPrefix+c.Reason, MaxReasonLen)
}

func (c *Takedown) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	if !b.who.Admin {
		return fmt.Errorf("%w: only administrators may take a release down", access.ErrDenied)
	}
	reason := c.Reason
	if c.Malicious {
		reason = takedownPrefix + reason
	}
	ev.Reason = &reason
	if err := b.tx.EndQuarantine(b.ctx, rel.ID); err != nil {
		return err
	}
	if err := b.tombstone(rel, ev); err != nil {
		return err
	}
	if c.Malicious {
		if err := b.tx.PutAdvisory(b.ctx, &meta.Advisory{Ecosystem: b.pkg.Ecosystem, Name: b.pkg.Name, Version: rel.Version,
			Summary: c.Reason, Published: b.at, Modified: b.at}); err != nil {
			return err
		}
	}
	reporters, err := b.tx.CloseReports(b.ctx, b.pkg.Ecosystem, b.pkg.Name, rel.Version, true, "removed", b.who.UserName, b.at)
	if err != nil {
		return err
	}
	return b.s.tell(b.ctx, b.tx, Decision{Package: b.pkg, Version: rel.Version, Action: "removed", Reason: c.Reason,
		Malicious: c.Malicious, Reporters: reporters})
}

// Dismiss closes the open reports on a target (a release, or with version
// "" a package) as wrong, and tells the reporters. A target without open
// reports is ErrNotFound.
func (s *Service) Dismiss(ctx context.Context, who *access.Principal, t trove.Target, reason string) error {
	return s.decide(ctx, who, t, "dismissed", reason)
}

// ReleaseReported puts a quarantined release back (see [Unquarantine]) or
// publishes a held upload (see [Service.ReleaseHeld]), and closes the
// open reports on it as released.
func (s *Service) ReleaseReported(ctx context.Context, who *access.Principal, t trove.Target, reason string) error {
	if err := who.CheckAdmin(access.Yank); err != nil {
		return err
	}
	if quarantined, err := s.quarantined(ctx, t); err != nil || quarantined {
		if err != nil {
			return err
		}
		s.note(ctx, t.Ecosystem, t.Name, t.Version)
		return s.Apply(ctx, who, t.Ecosystem, t.Name, &Unquarantine{Version: t.Version, Reason: reason})
	}
	if _, err := s.ReleaseHeld(ctx, t.Ecosystem, t.Name, t.Version); err != nil {
		return err
	}
	err := s.decide(ctx, who, t, "released", reason)
	if errors.Is(err, trove.ErrNotFound) {
		return nil // released, and nobody had reported it
	}
	return err
}

// decide closes a target's open reports as action.
func (s *Service) decide(ctx context.Context, who *access.Principal, t trove.Target, action, reason string) error {
	if err := who.CheckAdmin(access.Yank); err != nil {
		return err
	}
	if err := checkText("reason", reason, MaxReasonLen); err != nil {
		return err
	}
	_, n, key, err := s.parse(t.Ecosystem, t.Name, t.Version)
	if err != nil {
		return err
	}
	s.note(ctx, t.Ecosystem, string(n), t.Version)
	pkg, err := s.db.Package(ctx, t.Ecosystem, n)
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "package %s not found", t.Name)
	}
	if err != nil {
		return err
	}
	version := ""
	if key != "" {
		rel, err := s.db.Release(ctx, pkg.ID, key)
		if errors.Is(err, meta.ErrNotFound) {
			return trove.Error(trove.ErrNotFound, "version %s of %s not found", t.Version, t.Name)
		}
		if err != nil {
			return err
		}
		version = rel.Version
	}
	return s.db.Tx(ctx, func(tx *meta.Tx) error {
		reporters, err := tx.CloseReports(ctx, pkg.Ecosystem, pkg.Name, version, false, action, who.UserName, now(s))
		if err != nil {
			return err
		}
		if len(reporters) == 0 {
			return trove.Error(trove.ErrNotFound, "%s %s has no open reports (trove admin queue lists them)", t.Ecosystem, strings.TrimSpace(t.Name+" "+t.Version))
		}
		return s.tell(ctx, tx, Decision{Package: pkg, Version: version, Action: action, Reason: reason, Reporters: reporters})
	})
}
