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

// Inactivity reminders (packman PKM-16, docs/roles.md)
//
// A daily leased job finds the people with a role and no recorded
// activity for longer than policy.inactive_after (meta.InactiveHoldings),
// and mails each owner of a package or organisation where they hold one a
// reminder naming them and how to remove their roles. An owner is
// reminded about one package or organisation at most once per
// ReminderEvery (the review_reminders ledger, written in the transaction
// that queues the mail). For a package, the roles granted on it and
// through teams are listed; roles held as an organisation's members are
// in the organisation's reminder, not in each of its packages'.

// ReviewJobName and ReviewJobEvery are the reminder job's.
const (
	ReviewJobName  = "role-review"
	ReviewJobEvery = 24 * time.Hour
)

// ReminderEvery is how seldom an owner is reminded about one package or
// organisation.
const ReminderEvery = 30 * 24 * time.Hour

// RoleReminders mails owners about their inactive people.
type RoleReminders struct {
	db     *meta.DB
	outbox *mail.Outbox
	after  time.Duration
	now    func() time.Time
}

// NewRoleReminders returns the reminder job's work: people inactive for
// longer than after (positive) are reminded of; now is the clock (nil:
// time.Now).
func NewRoleReminders(db *meta.DB, outbox *mail.Outbox, after time.Duration, now func() time.Time) *RoleReminders {
	if now == nil {
		now = time.Now
	}
	return &RoleReminders{db: db, outbox: outbox, after: after, now: now}
}

// reviewSubject is a package or an organisation with inactive people.
type reviewSubject struct {
	key      string // the ledger's subject: "package:ID" or "org:ID"
	packages bool
	id       int64
	inactive []meta.Holding
}

// Run queues the reminders due (the leased job's work).
func (r *RoleReminders) Run(ctx context.Context) error {
	if r.after <= 0 {
		return nil
	}
	now := r.now().UTC()
	hs, err := r.db.InactiveHoldings(ctx, now.Add(-r.after))
	if err != nil {
		return fmt.Errorf("finding inactive people: %w", err)
	}
	var subjects []*reviewSubject
	for _, h := range hs {
		s := &reviewSubject{key: fmt.Sprint("org:", h.OrgID), id: h.OrgID}
		if h.PackageID != 0 {
			s = &reviewSubject{key: fmt.Sprint("package:", h.PackageID), packages: true, id: h.PackageID}
		}
		if n := len(subjects); n == 0 || subjects[n-1].key != s.key {
			subjects = append(subjects, s)
		}
		last := subjects[len(subjects)-1]
		last.inactive = append(last.inactive, h)
	}
	err = r.db.Tx(ctx, func(tx *meta.Tx) error {
		due := map[int64]*dueReminder{}
		var order []int64
		for _, s := range subjects {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := r.collect(ctx, tx, s, now, due, &order); err != nil {
				return err
			}
		}
		// One mail per owner, about every package and organisation due.
		for _, id := range order {
			d := due[id]
			subject, body := r.reminder(d.owner.Name, d.whats, d.sections)
			if err := r.outbox.Enqueue(ctx, tx, mail.Message{To: d.owner.Email, Subject: subject, Body: body, Kind: "role-review"}); err != nil {
				return err
			}
			for _, key := range d.keys {
				if err := tx.SetReminderSent(ctx, id, key, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queueing review reminders: %w", err)
	}
	return nil
}

// dueReminder is what one owner is reminded of in one run.
type dueReminder struct {
	owner    *trove.User
	keys     []string // the ledger's subjects
	whats    []string // "the npm package x", "the organisation acme"
	sections []string
}

// collect adds the reminder about one package or organisation to those
// due to its owners with a verified address not reminded about it within
// ReminderEvery.
func (r *RoleReminders) collect(ctx context.Context, tx *meta.Tx, s *reviewSubject, now time.Time, due map[int64]*dueReminder, order *[]int64) error {
	var owners []*trove.User
	var what, review string
	var lines []string // per inactive person: who, and how to remove their role
	if s.packages {
		pkg, err := tx.PackageByID(ctx, s.id)
		if err != nil {
			return err
		}
		if owners, err = tx.AllOwners(ctx, pkg.ID); err != nil {
			return err
		}
		org := "ORG"
		if pkg.OrgID != 0 {
			o, err := tx.OrgByID(ctx, pkg.OrgID)
			if err != nil {
				return err
			}
			org = o.Name
		}
		what = fmt.Sprintf("the %s package %s", pkg.Ecosystem, pkg.DisplayName)
		review = fmt.Sprintf("trove owner review %s %s", pkg.Ecosystem, pkg.DisplayName)
		for _, h := range s.inactive {
			fix := fmt.Sprintf("trove owner grant %s %s %s none", pkg.Ecosystem, pkg.DisplayName, h.User)
			if team, ok := strings.CutPrefix(h.Via, "team "); ok {
				fix = fmt.Sprintf("trove org team remove %s %s %s (or take the team's role away)", org, team, h.User)
			}
			lines = append(lines, fmt.Sprintf("  - %s, %s (%s)\n    to remove the role: %s\n", h.User, h.Role, via(h.Via), fix))
		}
	} else {
		o, err := tx.OrgByID(ctx, s.id)
		if err != nil {
			return err
		}
		if owners, err = tx.OrgOwners(ctx, o.ID); err != nil {
			return err
		}
		what = "the organisation " + o.Name
		review = "trove org review " + o.Name
		for _, h := range s.inactive {
			lines = append(lines, fmt.Sprintf("  - %s, %s of the organisation\n    to remove them: trove org remove %s %s\n", h.User, h.Role, o.Name, h.User))
		}
	}
	for _, u := range owners {
		verified, err := tx.EmailVerifiedAt(ctx, u.ID)
		if err != nil {
			return err
		}
		if verified.IsZero() {
			continue
		}
		sent, err := tx.ReminderSent(ctx, u.ID, s.key)
		if err != nil {
			return err
		}
		if !sent.IsZero() && now.Sub(sent) < ReminderEvery {
			continue
		}
		d := due[u.ID]
		if d == nil {
			d = &dueReminder{owner: u}
			due[u.ID] = d
			*order = append(*order, u.ID)
		}
		d.keys, d.whats = append(d.keys, s.key), append(d.whats, what)
		d.sections = append(d.sections, fmt.Sprintf("On %s (see everyone's last activity: %s):\n%s", what, review, strings.Join(lines, "")))
	}
	return nil
}

// via says where a role on a package comes from.
func via(v string) string {
	if v == "package" {
		return "granted on the package"
	}
	return "through the " + v
}

func (r *RoleReminders) reminder(owner string, whats, sections []string) (string, string) {
	days := int(r.after / (24 * time.Hour))
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nThese people hold a role on packages or organisations you own, and have not signed in,\n"+
		"used a token or published on Trove for more than %d days.\n\n", owner, days)
	for _, sec := range sections {
		b.WriteString(sec)
		b.WriteString("\n")
	}
	b.WriteString("A role nobody uses is a credential waiting to be stolen. If they still maintain the package,\n" +
		"nothing needs doing; otherwise remove their roles (docs/roles.md, \"Reviewing roles\").\n\n" +
		"You are reminded about each package or organisation at most once every 30 days.\n")
	subject := "Trove: inactive people on " + whats[0]
	if len(whats) > 1 {
		subject = fmt.Sprintf("Trove: inactive people on %d packages or organisations you own", len(sections))
	}
	return subject, b.String()
}
