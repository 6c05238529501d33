package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Account deletion
//
// Deleting an account keeps its users row as a tombstone, so that its name
// is never registered again: a name is trust (people install what it
// publishes, its npm scope is its namespace, its releases name it as their
// publisher), and a newcomer who got it back would inherit all of that.
// Everything personal or credential-like goes, in one transaction: the
// email address, password hash, second factors, recovery codes, API tokens,
// web and npm-login sessions, reset and verification links, known devices
// (meta's EraseUser). The user is removed from the owners of every package
// through the registry's own owner change, logged in the transparency log
// (a Disowner); packages they were the only owner of are left without
// owners, for administrators, unless an heir takes them. Releases stay,
// immutable, naming the deleted account as their publisher. The owner is
// mailed at their verified address in the same transaction, before the
// address is erased, and the deletion is a security event that names the
// administrator.

// A Disowner removes a deleted account from the owners of its packages:
// registry.Service does, logging each change.
type Disowner interface {
	// Disown removes user from the owners of every package they own,
	// within tx; heir (if not nil) first becomes an owner of each package
	// user was the only owner of, and the others are left without
	// owners. It returns what to run once tx has committed (never if it
	// rolled back).
	Disown(ctx context.Context, tx *meta.Tx, user, heir *trove.User) (func(context.Context) error, error)
}

// Deletions deletes accounts.
type Deletions struct {
	db     *meta.DB
	notes  *Notifications
	owners Disowner
	tokens *access.Tokens // nil: no token cache in this process
	now    func() time.Time
}

// NewDeletions returns the service deleting accounts over db: notes
// records the deletion and mails the owner, owners removes them from
// their packages, and tokens (may be nil) is this process's token cache,
// which forgets their tokens at once. now may be nil for time.Now.
func NewDeletions(db *meta.DB, notes *Notifications, owners Disowner, tokens *access.Tokens, now func() time.Time) *Deletions {
	if now == nil {
		now = time.Now
	}
	return &Deletions{db: db, notes: notes, owners: owners, tokens: tokens, now: now}
}

// A Deletion asks for an account to be deleted.
type Deletion struct {
	// User is the name of the account to delete.
	User string
	// By is the administrator deleting it; nil for an operator on the
	// command line (who works on the data directory).
	By *trove.User
	// Heir, if not "", names the account that becomes an owner of the
	// packages User is the only owner of, instead of leaving them without
	// owners.
	Heir string
	// Client is where the request came from, for the security event.
	Client string
}

// by names who deletes, for the event and the log.
func (d Deletion) by() string {
	if d.By == nil {
		return "an operator (trove admin user delete)"
	}
	return "the administrator " + d.By.Name
}

// Consequences say what deleting an account does (Plan) or did (Delete).
type Consequences struct {
	User *trove.User
	Heir *trove.User // nil: none
	// Packages are those the user owns, by id, with how many owners each
	// has; those with one are left without owners (or go to Heir).
	Packages []meta.OwnedPackage
	// Releases is how many releases the user published: they stay.
	Releases int
	// Tokens, Sessions and Factors count what is erased.
	Tokens, Sessions, Factors int
}

// Ownerless returns the packages the user is the only owner of.
func (c *Consequences) Ownerless() []*trove.Package {
	var out []*trove.Package
	for _, op := range c.Packages {
		if op.Owners == 1 {
			out = append(out, op.Package)
		}
	}
	return out
}

// Shared returns the packages that keep other owners.
func (c *Consequences) Shared() []*trove.Package {
	var out []*trove.Package
	for _, op := range c.Packages {
		if op.Owners > 1 {
			out = append(out, op.Package)
		}
	}
	return out
}

// Plan returns what deleting the account would do, after the checks
// Delete makes (an unknown or deleted account is ErrNotFound; the
// administrator's own account, the last active administrator and a bad
// heir are ErrInvalid). It changes nothing.
func (d *Deletions) Plan(ctx context.Context, del Deletion) (*Consequences, error) {
	var c *Consequences
	err := d.db.Tx(ctx, func(tx *meta.Tx) error {
		var err error
		c, err = d.check(ctx, tx, del)
		return err
	})
	// Plan's transaction only reads; rolling it back or committing is the
	// same, and Tx commits.
	return c, err
}

// check finds the user and the heir, locking the user's row, refuses what
// may not be deleted, and counts the consequences.
func (d *Deletions) check(ctx context.Context, tx *meta.Tx, del Deletion) (*Consequences, error) {
	name := strings.ToLower(strings.TrimSpace(del.User))
	u, err := tx.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) || err == nil && u.Deleted() {
		return nil, trove.Error(trove.ErrNotFound, "no account %q (deleted accounts cannot be deleted again)", name)
	}
	if err != nil {
		return nil, err
	}
	if u, err = tx.UserForUpdate(ctx, u.ID); err != nil {
		return nil, err
	}
	if del.By != nil && del.By.ID == u.ID {
		return nil, trove.Error(trove.ErrInvalid, "you cannot delete your own account: ask another administrator")
	}
	if u.Admin {
		admins, err := tx.ActiveAdmins(ctx)
		if err != nil {
			return nil, err
		}
		others := 0
		for _, id := range admins {
			if id != u.ID {
				others++
			}
		}
		if others == 0 {
			return nil, trove.Error(trove.ErrInvalid, "%s is the last active administrator: make another account an administrator first", u.Name)
		}
	}
	c := &Consequences{User: u}
	if del.Heir != "" {
		heir := strings.ToLower(strings.TrimSpace(del.Heir))
		h, err := tx.UserByName(ctx, heir)
		switch {
		case errors.Is(err, meta.ErrNotFound) || err == nil && h.Deleted():
			return nil, trove.Error(trove.ErrInvalid, "no account %q to take over the packages of %s", heir, u.Name)
		case err != nil:
			return nil, err
		case h.ID == u.ID:
			return nil, trove.Error(trove.ErrInvalid, "%s cannot take over the packages of its own deleted account: name another account", heir)
		}
		c.Heir = h
	}
	if c.Packages, err = tx.OwnedPackages(ctx, u.ID); err != nil {
		return nil, err
	}
	if c.Releases, c.Tokens, c.Sessions, c.Factors, err = tx.AccountCounts(ctx, u.ID); err != nil {
		return nil, err
	}
	return c, nil
}

// Delete deletes the account, as one transaction (see "Account deletion"
// above): nothing changes if any part fails. It refuses what Plan
// refuses. It returns what it did.
func (d *Deletions) Delete(ctx context.Context, del Deletion) (*Consequences, error) {
	var c *Consequences
	var after func(context.Context) error
	at := d.now().UTC()
	err := d.db.Tx(ctx, func(tx *meta.Tx) error {
		var err error
		if c, err = d.check(ctx, tx, del); err != nil {
			return err
		}
		u := c.User
		// First the mail, to the address about to be erased.
		detail := fmt.Sprintf("deleted by %s; packages owned: %d, left without owners: %d", del.by(), len(c.Packages), len(c.Ownerless()))
		if c.Heir != nil {
			detail = fmt.Sprintf("deleted by %s; packages owned: %d, of which %d go to %s", del.by(), len(c.Packages), len(c.Ownerless()), c.Heir.Name)
		}
		if err := d.notes.NotifyTx(ctx, tx, Event{Kind: EventAccountDeleted, UserID: u.ID, Detail: detail, Client: del.Client, At: at}); err != nil {
			return err
		}
		if after, err = d.owners.Disown(ctx, tx, u, c.Heir); err != nil {
			return err
		}
		if err := tx.EraseUser(ctx, u.ID, at); err != nil {
			return fmt.Errorf("erasing the account %s: %w", u.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if d.tokens != nil {
		d.tokens.Forget(c.User.ID)
	}
	by := "operator"
	if del.By != nil {
		by = del.By.Name
	}
	slog.Info("account deleted", "user", c.User.Name, "user_id", c.User.ID, "by", by, "packages", len(c.Packages),
		"ownerless", len(c.Ownerless()), "tokens", c.Tokens, "sessions", c.Sessions, "factors", c.Factors)
	c.User.DeletedAt = at
	if err := after(ctx); err != nil {
		// The deletion committed; the log is signed again by the next change.
		return c, fmt.Errorf("the account %s was deleted, but: %w", c.User.Name, err)
	}
	return c, nil
}
