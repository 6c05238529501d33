package registry

import (
	"context"
	"errors"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// DefaultUnpublishWindow is how long after publication the owners of a
// package may delete a version themselves (npm's policy, too). Later only
// an administrator can, and owners deprecate or yank instead.
const DefaultUnpublishWindow = 72 * time.Hour

// errNoChange is returned by a change function that found nothing to do.
var errNoChange = errors.New("no change")

// change runs fn in a transaction on the target's package and release
// (nil when t.Version is ""), after authorizing who for action a, and
// records a change of kind in the feed and in the transparency log. fn
// adds what it changed to the event; it returns errNoChange if nothing
// changed, and then nothing is recorded. A package without a visible
// release is not found, whoever asks.
func (s *Service) change(ctx context.Context, who *access.Principal, a access.Action, t trove.Target, kind string,
	fn func(tx *meta.Tx, pkg *trove.Package, rel *trove.Release, ev *translog.Event) error) error {
	_, name, key, err := s.parse(t.Ecosystem, t.Name, t.Version)
	if err != nil {
		return err
	}
	pkg, err := s.visiblePackage(ctx, t.Ecosystem, name, t.Name)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, who, a, t.Ecosystem, name, pkg); err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		var rel *trove.Release
		if key != "" {
			var err error
			rel, err = tx.Release(ctx, pkg.ID, key)
			if errors.Is(err, meta.ErrNotFound) || err == nil && !rel.State.Visible() {
				return trove.Error(trove.ErrNotFound, "version %s of %s not found", t.Version, pkg.DisplayName)
			}
			if err != nil {
				return err
			}
		}
		ev := &translog.Event{Kind: kind, Ecosystem: string(pkg.Ecosystem), Name: string(pkg.Name), Time: now(s)}
		if rel != nil {
			ev.Version = rel.Version
		}
		if err := fn(tx, pkg, rel, ev); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, ev); err != nil {
			return err
		}
		_, err := tx.AddChange(ctx, pkg, kind, ev.Time)
		return err
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return err
	}
	s.changed(t.Ecosystem, name)
	return s.sign(context.WithoutCancel(ctx))
}

// visiblePackage returns the package if it has a visible release. One
// without is ErrNotFound, exactly like one that does not exist, and this is
// checked before authorization so that a refusal does not reveal it.
func (s *Service) visiblePackage(ctx context.Context, eco trove.Ecosystem, name trove.Name, asWritten string) (*trove.Package, error) {
	notFound := trove.Error(trove.ErrNotFound, "package %s not found", asWritten)
	pkg, err := s.db.Package(ctx, eco, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	rels, err := s.db.Releases(ctx, pkg.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range rels {
		if r.State.Visible() {
			return pkg, nil
		}
	}
	return nil, notFound
}

// Yank hides a release from version resolution (it stays installable when
// pinned exactly) and records why. Yanking a yanked release updates the reason.
func (s *Service) Yank(ctx context.Context, who *access.Principal, t trove.Target, reason string) error {
	return s.change(ctx, who, access.Yank, t, "yank", func(tx *meta.Tx, pkg *trove.Package, rel *trove.Release, ev *translog.Event) error {
		ev.Reason = &reason
		if rel.State == trove.Published {
			if err := tx.SetReleaseState(ctx, rel.ID, trove.Published, trove.Yanked, time.Time{}); err != nil {
				return err
			}
		}
		return tx.SetYankedReason(ctx, rel.ID, reason)
	})
}

// Unyank makes a yanked release resolvable again.
func (s *Service) Unyank(ctx context.Context, who *access.Principal, t trove.Target) error {
	return s.change(ctx, who, access.Yank, t, "unyank", func(tx *meta.Tx, pkg *trove.Package, rel *trove.Release, ev *translog.Event) error {
		if rel.State != trove.Yanked {
			return trove.Error(trove.ErrInvalid, "version %s of %s is not yanked", rel.Version, pkg.DisplayName)
		}
		if err := tx.SetReleaseState(ctx, rel.ID, trove.Yanked, trove.Published, time.Time{}); err != nil {
			return err
		}
		return tx.SetYankedReason(ctx, rel.ID, "")
	})
}

// Deprecate sets a release's deprecation message; "" removes it.
func (s *Service) Deprecate(ctx context.Context, who *access.Principal, t trove.Target, msg string) error {
	return s.change(ctx, who, access.Yank, t, "deprecate", func(tx *meta.Tx, pkg *trove.Package, rel *trove.Release, ev *translog.Event) error {
		if rel.Deprecated == msg {
			return errNoChange
		}
		ev.Message = &msg
		return tx.SetDeprecated(ctx, rel.ID, msg)
	})
}

// Delete turns a release into a tombstone: it disappears from every read
// path, its version and filenames stay taken forever, and dist-tags that
// pointed at it are removed. Owners may delete within the unpublish
// window after publication; afterwards only administrators may.
func (s *Service) Delete(ctx context.Context, who *access.Principal, t trove.Target, window time.Duration) error {
	if t.Version == "" {
		return trove.Error(trove.ErrInvalid, "deleting needs a version")
	}
	return s.change(ctx, who, access.Yank, t, "delete", func(tx *meta.Tx, pkg *trove.Package, rel *trove.Release, ev *translog.Event) error {
		at := now(s)
		if !who.Admin && at.Sub(rel.PublishedAt) > window {
			return trove.Error(access.ErrDenied, "%s %s was published more than %s ago and can no longer be deleted by its owners: deprecate it, or ask an administrator",
				pkg.DisplayName, rel.Version, window)
		}
		tags, err := tx.DistTags(ctx, pkg.ID)
		if err != nil {
			return err
		}
		for _, tag := range tags {
			if tag.ReleaseID == rel.ID {
				if err := tx.DeleteDistTag(ctx, pkg.ID, tag.Tag); err != nil {
					return err
				}
				ev.Tags = append(ev.Tags, translog.TagChange{Tag: tag.Tag})
			}
		}
		return tx.SetReleaseState(ctx, rel.ID, rel.State, trove.Deleted, at)
	})
}

// SetDistTag points a tag of the package at one of its visible releases.
func (s *Service) SetDistTag(ctx context.Context, who *access.Principal, t trove.Target, tag string) error {
	if t.Version == "" || tag == "" {
		return trove.Error(trove.ErrInvalid, "a dist-tag needs a tag and a version")
	}
	return s.change(ctx, who, access.Publish, t, "tag", func(tx *meta.Tx, pkg *trove.Package, rel *trove.Release, ev *translog.Event) error {
		ev.Version = ""
		ev.Tags = []translog.TagChange{{Tag: tag, Version: rel.Version}}
		return tx.SetDistTag(ctx, pkg.ID, tag, rel.ID)
	})
}

// RemoveDistTag removes a tag of the package.
func (s *Service) RemoveDistTag(ctx context.Context, who *access.Principal, t trove.Target, tag string) error {
	return s.change(ctx, who, access.Publish, trove.Target{Ecosystem: t.Ecosystem, Name: t.Name}, "tag",
		func(tx *meta.Tx, pkg *trove.Package, _ *trove.Release, ev *translog.Event) error {
			err := tx.DeleteDistTag(ctx, pkg.ID, tag)
			if errors.Is(err, meta.ErrNotFound) {
				return trove.Error(trove.ErrNotFound, "%s has no dist-tag %q", pkg.DisplayName, tag)
			}
			ev.Tags = []translog.TagChange{{Tag: tag}}
			return err
		})
}
