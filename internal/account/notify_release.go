package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Release notices (PKM-07)
//
// Every owner of a package with a verified address is mailed about every
// new release of it (and its other changes: notify_change.go), whoever
// published it: a release they did not make
// is the first sign of a stolen token. The notices follow the change
// feed: a cursor (notify_cursors 'release-mail', started at the feed's end
// when the feature was installed) is advanced in the transaction that
// queues the mails of the changes it passes, so each release is announced
// exactly once into the outbox, even across crashes and replicas (the job
// is leased). Proxied packages have no owners and so no notices. There is
// no opt-out: a maintainer who does not want them should not be one.

// ReleaseCursor is the notifier's cursor over the change feed.
const ReleaseCursor = "release-mail"

// releaseBatch is how many changes one transaction handles.
const releaseBatch = 100

// ReleaseNotices mails owners about new releases.
type ReleaseNotices struct {
	db     *meta.DB
	outbox *mail.Outbox
	base   string
}

// NewReleaseNotices returns the release notifier; baseURL is the server's
// public URL, for links.
func NewReleaseNotices(db *meta.DB, outbox *mail.Outbox, baseURL string) *ReleaseNotices {
	return &ReleaseNotices{db: db, outbox: outbox, base: strings.TrimRight(baseURL, "/")}
}

// Run queues the notices of every change since the cursor (the leased
// job's work).
func (r *ReleaseNotices) Run(ctx context.Context) error {
	for {
		n, err := r.step(ctx)
		if err != nil || n < releaseBatch {
			return err
		}
	}
}

// step handles one batch of changes in one transaction and returns how
// many it read.
func (r *ReleaseNotices) step(ctx context.Context) (int, error) {
	n := 0
	err := r.db.Tx(ctx, func(tx *meta.Tx) error {
		cursor, err := tx.NotifyCursor(ctx, ReleaseCursor)
		if err != nil {
			return err
		}
		changes, err := tx.ChangesSince(ctx, cursor, releaseBatch)
		if err != nil || len(changes) == 0 {
			return err
		}
		n = len(changes)
		done := map[string]bool{} // changes of one kind to one package in one second are one mail
		for _, c := range changes {
			key := fmt.Sprint(c.Ecosystem, "\x00", c.Name, "\x00", c.Kind, "\x00", c.At.Truncate(time.Second).Unix())
			switch {
			case c.Kind == "publish":
				err = r.announce(ctx, tx, c)
			case noticeKinds[c.Kind] != "" && !done[key]:
				done[key] = true
				err = r.announceChange(ctx, tx, c)
			}
			if err != nil {
				return err
			}
		}
		return tx.SetNotifyCursor(ctx, ReleaseCursor, changes[len(changes)-1].Serial)
	})
	if err != nil {
		return 0, fmt.Errorf("queueing release notices: %w", err)
	}
	return n, nil
}

// announce queues the mails about one publish change.
func (r *ReleaseNotices) announce(ctx context.Context, tx *meta.Tx, c meta.Change) error {
	pkg, err := tx.Package(ctx, trove.Ecosystem(c.Ecosystem), trove.Name(c.Name))
	if err != nil {
		return err
	}
	rels, err := tx.PublishedReleases(ctx, pkg.ID, c.At)
	if err != nil {
		return err
	}
	owners, err := tx.AllOwners(ctx, pkg.ID)
	if err != nil {
		return err
	}
	for _, o := range owners {
		at, err := tx.EmailVerifiedAt(ctx, o.ID)
		if err != nil {
			return err
		}
		if at.IsZero() {
			continue
		}
		subject, body := r.releaseMail(o.Name, pkg, rels, c.At)
		if err := r.outbox.Enqueue(ctx, tx, mail.Message{To: o.Email, Subject: subject, Body: body, Kind: "release"}); err != nil {
			return err
		}
	}
	return nil
}

func (r *ReleaseNotices) releaseMail(owner string, pkg *trove.Package, rels []meta.PublishedRelease, at time.Time) (string, string) {
	what, yank := "new files", "VERSION"
	var versions []string
	var b strings.Builder
	for _, rel := range rels {
		versions = append(versions, rel.Version)
		yank = rel.Version
	}
	if len(versions) > 0 {
		what = "version " + strings.Join(versions, ", ")
	}
	subject := fmt.Sprintf("Trove: %s %s published: %s", pkg.Ecosystem, pkg.DisplayName, what)
	fmt.Fprintf(&b, "Hello %s,\n\n%s of the %s package %s, which you maintain, was published on Trove.\n\n", owner, capitalize(what), pkg.Ecosystem, pkg.DisplayName)
	for _, rel := range rels {
		if rel.Publisher != "" {
			fmt.Fprintf(&b, "Version %s was published by %s.\n", rel.Version, rel.Publisher)
		}
	}
	fmt.Fprintf(&b, "When: %s\n\n", at.UTC().Format(time.RFC1123))
	fmt.Fprintf(&b, "If you did not expect this release:\n"+
		"  - yank it:  trove yank %s %s %s --reason \"not ours\"\n"+
		"  - revoke the tokens that could have published it, and sign out everywhere:\n      %s/-/account/security\n"+
		"  - tell the registry's administrators.\n", pkg.Ecosystem, pkg.DisplayName, yank, r.base)
	return subject, b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
