package registry

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// The worm guard
//
// A stolen token is worth most to a worm when it publishes new versions
// of every package it can reach within minutes (the 2025 npm worms did).
// So each publish counts the distinct packages its credential (the API
// token; for other credentials the user) published new versions of within
// Burst.Window, and once that count passes Burst.Packages the upload is
// held for review rather than published: it stays quarantined, the
// publisher and the package's owners are told (HoldNotice), and an
// administrator releases or rejects it (ReleaseHeld, RejectHeld). Many
// versions of one package count once: that is a release train, not a
// worm.
//
// The count is read from the database inside the transaction that would
// make the upload visible, under a lock on the credential
// (meta.Tx.LockCredential), so it holds across replicas and restarts, and
// of concurrent publishes with one credential each counts those decided
// before it: exactly the later ones are held. A held upload counts too,
// so that once the guard trips, the rest of the burst is held as well.

// A Burst is the worm guard's threshold: a credential that published new
// versions of more than Packages distinct packages within Window has its
// later uploads held. Packages 0 turns the guard off.
type Burst struct {
	Packages int
	Window   time.Duration
}

// The guard's defaults (config's policy.burst_packages and burst_window).
const (
	DefaultBurstPackages = 5
	DefaultBurstWindow   = 10 * time.Minute
)

// A HeldUpload is an upload held for review, as the people told about it
// see it.
type HeldUpload struct {
	Package *trove.Package
	Version string
	// Reason is "burst" (the worm guard) or "scan" (a scanner's verdict).
	Reason string
	// Message is what the publisher was told: why, and what happens next.
	Message string
	// Publisher is the user who uploaded it ("" for an import).
	Publisher string
	// UserIDs are the people to tell: the publisher and the package's
	// owners, each once.
	UserIDs []int64
	// Rejected says the upload was rejected, not held: a pending scan's
	// scanners refused it after the client was told it was held.
	Rejected bool
}

// A HoldNotice tells the people of h that an upload is held. It runs in
// the transaction that records the hold, so that the notice (a security
// event and its mail) is durable exactly when the hold is.
type HoldNotice func(ctx context.Context, tx *meta.Tx, h HeldUpload) error

// credential returns what the worm guard counts publishes by: the token,
// the user's other credentials, or every token the user's trusted
// publishers minted (each covers one package: see meta.Credential).
func credential(who *access.Principal) meta.Credential {
	if who.PublisherID != 0 {
		return meta.Credential{UserID: who.UserID, Minted: true}
	}
	return meta.Credential{TokenID: who.TokenID, UserID: who.UserID}
}

// checkBurst decides, within tx and after LockCredential, whether the
// upload in res is the later part of a burst, and if so returns the
// message telling the publisher that it is held.
func (s *Service) checkBurst(ctx context.Context, tx *meta.Tx, who *access.Principal, res *Result, at time.Time) (string, error) {
	if s.burst.Packages <= 0 || who == nil {
		return "", nil
	}
	ids, err := tx.PackagesPublishedBy(ctx, credential(who), at.Add(-s.burst.Window), s.burst.Packages+1)
	if err != nil {
		return "", fmt.Errorf("counting the credential's recent publishes: %w", err)
	}
	n := len(ids)
	if !slices.Contains(ids, res.Package.ID) {
		n++
	}
	if n <= s.burst.Packages {
		return "", nil
	}
	cred := "your account " + who.UserName
	if who.PublisherID != 0 {
		cred = "the tokens trusted publishers minted for " + who.UserName
	} else if who.TokenPublicID != "" {
		cred = "the token " + who.TokenPublicID
	} else if who.TokenID != 0 {
		cred = "the token you used"
	}
	revoke := ""
	if s.securityURL != "" {
		revoke = " at " + s.securityURL
	}
	return fmt.Sprintf("%s %s is held for review and is not visible: %s published new versions of more than %d packages within %s, "+
		"which is how worms spread with stolen tokens. The package's owners were emailed; an administrator of this registry "+
		"will release it (it then becomes installable as uploaded) or reject it. If you published these, ask the administrators "+
		"to release them; if not, revoke your tokens%s now",
		res.Package.DisplayName, res.Release.Version, cred, s.burst.Packages, s.burst.Window, revoke), nil
}

// hold records, within tx, that the upload in res is held for review, and
// tells its publisher and the package's owners.
func (s *Service) hold(ctx context.Context, tx *meta.Tx, who *access.Principal, res *Result, u *Upload, reason, msg string, at time.Time) error {
	if err := tx.InsertHold(ctx, &meta.Hold{ReleaseID: res.Release.ID, Reason: reason, Message: msg, Tags: u.Tags, Lines: u.Lines, At: at}); err != nil {
		return fmt.Errorf("holding %s %s: %w", res.Package.Name, res.Release.Version, err)
	}
	owners, err := tx.Owners(ctx, res.Package.ID)
	if err != nil {
		return err
	}
	var ids []int64
	var user, token string
	if who != nil {
		ids = append(ids, who.UserID)
		user, token = who.UserName, who.TokenPublicID
	}
	for _, o := range owners {
		if !slices.Contains(ids, o.ID) {
			ids = append(ids, o.ID)
		}
	}
	log().Warn("upload held for review", "ecosystem", res.Package.Ecosystem, "package", res.Package.Name,
		"version", res.Release.Version, "reason", reason, "user", user, "token", token)
	if s.held == nil {
		return nil
	}
	return s.held(ctx, tx, HeldUpload{Package: res.Package, Version: res.Release.Version, Reason: reason, Message: msg,
		Publisher: user, UserIDs: ids})
}
