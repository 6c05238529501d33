package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Held uploads
//
// An upload held for review (by a scanner's verdict or the worm guard)
// keeps its release, or the files it added to a visible release,
// quarantined: invisible to every read path, its version and filenames
// taken, and left alone by the sweep of abandoned uploads. An
// administrator lists the holds and releases each (it is published as it
// was uploaded, with its dist-tags and its publish record, as if the scan
// had passed then) or rejects it (it is discarded like a rejected upload:
// its version and filenames are free again). These are operator
// commands (trove admin held), run on the data directory: whoever runs
// them is the administrator.

// MaxHeldListed bounds how many holds HeldReleases returns.
const MaxHeldListed = 1000

// HeldReleases returns the uploads held for review, oldest first (at most
// MaxHeldListed).
func (s *Service) HeldReleases(ctx context.Context) ([]*meta.HeldRelease, error) {
	return s.db.HeldReleases(ctx, MaxHeldListed)
}

// ReleaseHeld publishes the held upload of a release. A release that is
// not held is ErrNotFound.
func (s *Service) ReleaseHeld(ctx context.Context, eco trove.Ecosystem, name, version string) (*Result, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	res, err := s.heldRelease(ctx, eco, name, version)
	if err != nil {
		return nil, err
	}
	at := now(s)
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := s.writable(); err != nil {
			return err
		}
		if err := tx.LockPackage(ctx, res.Package.ID); err != nil {
			return err
		}
		// Read under the lock: of two administrators releasing (or one
		// releasing and one rejecting) at once, one finds it gone.
		h, err := tx.HoldOf(ctx, res.Release.ID)
		if err != nil {
			return notHeld(err, res)
		}
		if err := tx.DeleteHold(ctx, res.Release.ID); err != nil {
			return err
		}
		return publishTx(ctx, tx, res, h.Tags, h.Lines, at)
	})
	if err != nil {
		return nil, err
	}
	log().Warn("held upload released by an administrator", "ecosystem", res.Package.Ecosystem, "package", res.Package.Name, "version", res.Release.Version)
	s.changed(res.Package.Ecosystem, res.Package.Name)
	if err := s.sign(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

// RejectHeld discards the held upload of a release. A release that is not
// held is ErrNotFound.
func (s *Service) RejectHeld(ctx context.Context, eco trove.Ecosystem, name, version string) error {
	res, err := s.heldRelease(ctx, eco, name, version)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.LockPackage(ctx, res.Package.ID); err != nil {
			return err
		}
		if _, err := tx.HoldOf(ctx, res.Release.ID); err != nil {
			return notHeld(err, res)
		}
		return tx.DiscardQuarantined(ctx, res.Release.ID)
	})
	if err != nil {
		return err
	}
	log().Warn("held upload rejected by an administrator", "ecosystem", res.Package.Ecosystem, "package", res.Package.Name, "version", res.Release.Version)
	return nil
}

// heldRelease finds a held release and its quarantined files.
func (s *Service) heldRelease(ctx context.Context, eco trove.Ecosystem, name, version string) (*Result, error) {
	_, n, key, err := s.parse(eco, name, version)
	if err != nil {
		return nil, err
	}
	if version == "" {
		return nil, trove.Error(trove.ErrInvalid, "a held upload is named by its version")
	}
	res := &Result{}
	if res.Package, err = s.db.Package(ctx, eco, n); err == nil {
		res.Release, err = s.db.Release(ctx, res.Package.ID, key)
	}
	if err == nil {
		_, err = s.db.HoldOf(ctx, res.Release.ID)
	}
	if err != nil {
		return nil, notHeld(err, &Result{Package: &trove.Package{Ecosystem: eco, DisplayName: name}, Release: &trove.Release{Version: version}})
	}
	files, err := s.db.Files(ctx, res.Package.ID)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.ReleaseID == res.Release.ID && f.State == trove.Quarantined {
			res.Files = append(res.Files, f)
		}
	}
	if len(res.Files) == 0 {
		return nil, fmt.Errorf("%s %s %s is held but has no quarantined files", eco, res.Package.DisplayName, version)
	}
	return res, nil
}

func notHeld(err error, res *Result) error {
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "%s %s %s is not held for review (trove admin held list shows what is)",
			res.Package.Ecosystem, res.Package.DisplayName, res.Release.Version)
	}
	return err
}
