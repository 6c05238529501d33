package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Quarantine of visible releases
//
// A reported release that may be malicious is taken out of view at once,
// while the administrators look into it, without deciding anything: it
// becomes Suspended (trove.Suspended), invisible on every read path of
// every ecosystem as if it had never been published (its files are not
// served, its version is in no index, a proxy does not fetch it again),
// while its version and filenames stay taken. Its reports stay open. The
// administrators then release it, back in the state it was in (published
// or yanked, its dist-tags where they were), or take it down for good.
// Both steps are transparency-log records of their own, "quarantine" and
// "unquarantine" with the reason, so that the world sees the release
// leave and come back, and recovery rebuilds them; a takedown of a
// quarantined release is a takedown as of a visible one.

// Quarantine takes a visible release out of view as an administrator's
// decision (see [Quarantine]). The owners are mailed; the reports on the
// release stay open.
func (s *Service) Quarantine(ctx context.Context, who *access.Principal, t trove.Target, reason string) error {
	if err := who.CheckAdmin(access.Yank); err != nil {
		return err
	}
	s.note(ctx, t.Ecosystem, t.Name, t.Version)
	return s.Apply(ctx, who, t.Ecosystem, t.Name, &Quarantine{Version: t.Version, Reason: reason})
}

// quarantined reports whether the target names a quarantined release.
func (s *Service) quarantined(ctx context.Context, t trove.Target) (bool, error) {
	_, n, key, err := s.parse(t.Ecosystem, t.Name, t.Version)
	if err != nil || key == "" {
		return false, err
	}
	pkg, err := s.db.Package(ctx, t.Ecosystem, n)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rel, err := s.db.Release(ctx, pkg.ID, key)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	return err == nil && rel.State == trove.Suspended, err
}

// A Quarantine takes a visible release out of view (see
// [Service.Quarantine]); only administrators may.
type Quarantine struct{ Version, Reason string }

func (c *Quarantine) describe() (string, access.Action, string) {
	return "quarantine", access.Yank, c.Version
}

func (c *Quarantine) check() error {
	if err := versionNeeded("a quarantine", c.Version); err != nil {
		return err
	}
	if strings.TrimSpace(c.Reason) == "" {
		return trove.Error(trove.ErrInvalid, "a quarantine needs a reason, which goes into the transparency log and the owners' mail")
	}
	return checkText("quarantine reason", c.Reason, MaxReasonLen)
}

func (c *Quarantine) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	if !b.who.Admin {
		return fmt.Errorf("%w: only administrators may quarantine a release", access.ErrDenied)
	}
	ev.Reason = &c.Reason
	if err := b.tx.Quarantine(b.ctx, rel, c.Reason, b.who.UserName, b.at); err != nil {
		return err
	}
	return b.s.tell(b.ctx, b.tx, Decision{Package: b.pkg, Version: rel.Version, Action: "quarantined", Reason: c.Reason, Quarantine: true})
}

// An Unquarantine puts a quarantined release back in the state it was in
// and closes its reports as released (see [Service.ReleaseReported]);
// only administrators may.
type Unquarantine struct{ Version, Reason string }

func (c *Unquarantine) describe() (string, access.Action, string) {
	return "unquarantine", access.Yank, c.Version
}

func (c *Unquarantine) suspendedOK() {}

func (c *Unquarantine) check() error {
	if err := versionNeeded("releasing a quarantined version", c.Version); err != nil {
		return err
	}
	return checkText("reason", c.Reason, MaxReasonLen)
}

func (c *Unquarantine) apply(b *batch, rel *trove.Release, ev *translog.Event) error {
	if !b.who.Admin {
		return fmt.Errorf("%w: only administrators may release a quarantined version", access.ErrDenied)
	}
	if rel.State != trove.Suspended {
		return trove.Error(trove.ErrInvalid, "version %s of %s is not quarantined", rel.Version, b.pkg.DisplayName)
	}
	if c.Reason != "" {
		ev.Reason = &c.Reason
	}
	if _, err := b.tx.Unquarantine(b.ctx, rel.ID); err != nil {
		return err
	}
	reporters, err := b.tx.CloseReports(b.ctx, b.pkg.Ecosystem, b.pkg.Name, rel.Version, false, "released", b.who.UserName, b.at)
	if err != nil {
		return err
	}
	return b.s.tell(b.ctx, b.tx, Decision{Package: b.pkg, Version: rel.Version, Action: "released", Reason: c.Reason, Reporters: reporters, Quarantine: true})
}

// Withheld returns, of the versions of a package, those the registry
// holds and does not serve, with their state: Deleted (a tombstone) or
// Suspended (quarantined). A proxy neither serves them nor fetches them
// again from its upstream (upstream.Withholder). Versions are matched by
// the ecosystem's version key; a package unknown here withholds nothing.
func (s *Service) Withheld(ctx context.Context, eco trove.Ecosystem, name trove.Name, versions []string) (map[string]trove.State, error) {
	rules, n, _, err := s.parse(eco, string(name), "")
	if err != nil {
		return nil, nil // not a name here: nothing withheld
	}
	pkg, err := s.db.Package(ctx, eco, n)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rels, err := s.db.Releases(ctx, pkg.ID)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]trove.State)
	for _, r := range rels {
		if r.State == trove.Deleted || r.State == trove.Suspended {
			byKey[r.VersionKey] = r.State
		}
	}
	if len(byKey) == 0 {
		return nil, nil
	}
	out := make(map[string]trove.State)
	for _, v := range versions {
		if k, err := rules.VersionKey(v); err == nil {
			if st, ok := byKey[k]; ok {
				out[v] = st
			}
		}
	}
	return out, nil
}
