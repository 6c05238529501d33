package account

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Change notices (PKM-07)
//
// Beside new releases, the owners of a package are told of every other
// change to it that moves what its users install or who may publish it:
// owners added or removed (a removed owner is told too: being pushed out
// of one's package is the very sign of a takeover), versions yanked,
// restored, deprecated or deleted, and dist-tags moved. What changed is
// read from the change's transparency-log records (the change feed says
// only the kind and the time; the log says exactly what), so the mail
// says what the world was told.

// noticeKinds are the kinds of change that are announced besides
// "publish", with how a mail's subject names them.
var noticeKinds = map[string]string{
	"owner":     "owners changed",
	"yank":      "version yanked",
	"unyank":    "version restored",
	"deprecate": "deprecation changed",
	"delete":    "version deleted",
	"tag":       "dist-tag moved",
}

// recordsScanned bounds how many of a package's records of one kind are
// read back to find a change's own (records of a package come in time
// order, so this reaches back as far as the notifier could lag).
const recordsScanned = 200

// changeEvents returns the log records of c: the package's records of
// c's kind made in the second of c (records carry whole seconds).
func changeEvents(ctx context.Context, tx *meta.Tx, c meta.Change) ([]*translog.Event, error) {
	at := c.At.Truncate(time.Second)
	var out []*translog.Event
	before := int64(math.MaxInt64)
	for read := 0; read < recordsScanned; {
		ids, err := tx.LogRecordIDs(ctx, trove.Ecosystem(c.Ecosystem), trove.Name(c.Name), c.Kind, before, 20)
		if err != nil || len(ids) == 0 {
			return out, err
		}
		for _, id := range ids {
			read++
			before = id
			texts, err := tx.ReadLogRecords(ctx, id, 1)
			if err != nil {
				return nil, err
			}
			ev, err := translog.ParseEvent(texts[0])
			if err != nil {
				return nil, fmt.Errorf("log record %d: %w", id, err)
			}
			switch t := ev.Time.Truncate(time.Second); {
			case t.Equal(at):
				out = append([]*translog.Event{ev}, out...)
			case t.Before(at):
				return out, nil
			}
		}
	}
	return out, nil
}

// announceChange queues the mails about the changes of one kind made to
// one package in one second.
func (r *ReleaseNotices) announceChange(ctx context.Context, tx *meta.Tx, c meta.Change) error {
	pkg, err := tx.Package(ctx, trove.Ecosystem(c.Ecosystem), trove.Name(c.Name))
	if err != nil {
		return err
	}
	if pkg.Upstream {
		return nil
	}
	evs, err := changeEvents(ctx, tx, c)
	if err != nil || len(evs) == 0 {
		return err
	}
	owners, err := tx.AllOwners(ctx, pkg.ID)
	if err != nil {
		return err
	}
	var lines []string
	for _, ev := range evs {
		lines = append(lines, describeEvent(ev)...)
		for _, o := range ev.Owners {
			if o.Add {
				continue
			}
			u, err := tx.UserByName(ctx, o.User)
			if err == meta.ErrNotFound {
				continue
			}
			if err != nil {
				return err
			}
			owners = append(owners, u)
		}
	}
	subject := fmt.Sprintf("Trove: %s %s: %s", pkg.Ecosystem, pkg.DisplayName, noticeKinds[c.Kind])
	seen := map[int64]bool{}
	for _, o := range owners {
		if seen[o.ID] {
			continue
		}
		seen[o.ID] = true
		at, err := tx.EmailVerifiedAt(ctx, o.ID)
		if err != nil {
			return err
		}
		if at.IsZero() {
			continue
		}
		body := r.changeMail(o.Name, pkg, lines, c.At)
		if err := r.outbox.Enqueue(ctx, tx, mail.Message{To: o.Email, Subject: subject, Body: body, Kind: "package-change"}); err != nil {
			return err
		}
	}
	return nil
}

// describeEvent says in lines what a log record changed.
func describeEvent(ev *translog.Event) []string {
	var out []string
	switch ev.Kind {
	case "yank":
		l := "version " + ev.Version + " was yanked"
		if ev.Reason != nil && *ev.Reason != "" {
			l += " (reason: " + *ev.Reason + ")"
		}
		out = append(out, l)
	case "unyank":
		out = append(out, "version "+ev.Version+" is no longer yanked")
	case "deprecate":
		if ev.Message != nil && *ev.Message != "" {
			out = append(out, "version "+ev.Version+" was deprecated: "+*ev.Message)
		} else {
			out = append(out, "version "+ev.Version+" is no longer deprecated")
		}
	case "delete":
		out = append(out, "version "+ev.Version+" was deleted")
	}
	for _, t := range ev.Tags {
		if t.Version != "" {
			out = append(out, "the dist-tag "+t.Tag+" now points to "+t.Version)
		} else {
			out = append(out, "the dist-tag "+t.Tag+" was removed")
		}
	}
	for _, o := range ev.Owners {
		if o.Add {
			out = append(out, o.User+" was added as an owner")
		} else {
			out = append(out, o.User+" was removed as an owner")
		}
	}
	return out
}

func (r *ReleaseNotices) changeMail(owner string, pkg *trove.Package, lines []string, at time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nThe %s package %s, which you maintain or maintained, was changed on Trove:\n\n", owner, pkg.Ecosystem, pkg.DisplayName)
	for _, l := range lines {
		fmt.Fprintf(&b, "  - %s\n", l)
	}
	fmt.Fprintf(&b, "\nWhen: %s\nIts page: %s/-/package/%s/%s\n\n", at.UTC().Format(time.RFC1123), r.base, pkg.Ecosystem, pkg.DisplayName)
	fmt.Fprintf(&b, "If you did not expect this change:\n"+
		"  - see the package's owners:  trove owner ls %s %s\n"+
		"  - revoke the tokens that could have made it, and sign out everywhere:\n      %s/-/account/security\n"+
		"  - tell the registry's administrators.\n", pkg.Ecosystem, pkg.DisplayName, r.base)
	return b.String()
}
