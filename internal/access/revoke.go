package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Revocation sets
//
// Tokens are revoked one at a time (by their owner, or by anyone holding
// the secret who reports it leaked), all of a user's at once, all that can
// write one package, or all of every user (an administrator, after a
// compromise of the server or of its database). Each revocation runs in
// one transaction that also calls the OnRevoke hook once per user whose
// tokens it revoked (the security event and mail to that user), and
// forgets the tokens at once on this replica, within CacheTTL on others.

// A RevokeReason says which revocation set a revocation was.
type RevokeReason string

// The revocation sets.
const (
	RevokedOne      RevokeReason = "one"      // one token, by its owner or the operator
	RevokedUser     RevokeReason = "user"     // every token of one user
	RevokedPackage  RevokeReason = "package"  // every token that could write one package
	RevokedEveryone RevokeReason = "everyone" // every token of every user
	RevokedLeaked   RevokeReason = "leaked"   // a token reported leaked
)

// A Revocation describes a revocation, for the owners' notices.
type Revocation struct {
	Reason RevokeReason
	// By names who revoked: a user name, or "the operator" for the
	// command line on the data directory. Empty for leaked tokens,
	// which anyone holding the secret may report.
	By string
	// Package is the package of a RevokedPackage ("npm:left-pad").
	Package string
	// URL and Source say where a leaked token was found (a secret
	// scanner's report), when known.
	URL, Source string
	// Client is the address the revocation came from, for the event.
	Client string
}

// Revoked is what one revocation did to one user's tokens: the hook's
// argument.
type Revoked struct {
	Revocation
	UserID int64
	// Tokens are the tokens revoked when known one by one (empty for
	// RevokedUser and RevokedEveryone, which give only Count).
	Tokens []*trove.Token
	Count  int
}

// Detail says what happened in words for the owner, without secrets.
func (rv Revoked) Detail() string {
	var what string
	switch {
	case len(rv.Tokens) == 1:
		what = fmt.Sprintf("token %s %q", rv.Tokens[0].PublicID, rv.Tokens[0].Description)
	case len(rv.Tokens) > 1:
		ids := make([]string, len(rv.Tokens))
		for i, t := range rv.Tokens {
			ids[i] = t.PublicID
		}
		what = fmt.Sprintf("%d tokens (%s)", len(rv.Tokens), strings.Join(ids, ", "))
	case rv.Count == 1:
		what = "1 token"
	default:
		what = fmt.Sprintf("%d tokens", rv.Count)
	}
	by := ""
	if rv.By != "" {
		by = " by " + rv.By
	}
	switch rv.Reason {
	case RevokedLeaked:
		where := ""
		if rv.URL != "" {
			where = " at " + rv.URL
		}
		if rv.Source != "" {
			where += " (source: " + rv.Source + ")"
		}
		if where == "" {
			where = " (reported with its secret, no location given)"
		}
		return fmt.Sprintf("%s was found exposed%s and revoked", what, where)
	case RevokedPackage:
		return fmt.Sprintf("%s that could write %s revoked%s", what, rv.Package, by)
	case RevokedEveryone:
		return fmt.Sprintf("%s revoked%s, with every token of every user of the registry", what, by)
	case RevokedUser:
		return fmt.Sprintf("all your tokens (%s) revoked%s", what, by)
	}
	return fmt.Sprintf("%s revoked%s", what, by)
}

// OnRevoke sets fn to run in each revocation's transaction, once per user
// whose tokens it revoked (the owner's security event and mail, durable
// with the revocation); an error from fn fails the revocation.
func (t *Tokens) OnRevoke(fn func(ctx context.Context, tx *meta.Tx, rv Revoked) error) {
	t.onRevoke = fn
}

func (t *Tokens) revoked(ctx context.Context, tx *meta.Tx, rv Revoked) error {
	if t.onRevoke == nil || rv.Count == 0 {
		return nil
	}
	return t.onRevoke(ctx, tx, rv)
}

// forget drops from this replica's cache the tokens that match.
func (t *Tokens) forget(match func(*Principal) bool) {
	t.mu.Lock()
	for h, c := range t.cache {
		if match(c.p) {
			delete(t.cache, h)
		}
	}
	t.mu.Unlock()
}

// RevokeAll revokes every live token of the user and forgets them at
// once on this replica (within CacheTTL on the others). It returns how
// many it revoked. Tokens created concurrently are created either before
// it (and revoked) or after it (see Create).
func (t *Tokens) RevokeAll(ctx context.Context, userID int64, r Revocation) (int, error) {
	r.Reason = RevokedUser
	var n int
	err := t.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.LockUser(ctx, userID); err != nil {
			return err
		}
		var err error
		if n, err = tx.RevokeTokensOfUser(ctx, userID, t.now().UTC()); err != nil {
			return err
		}
		return t.revoked(ctx, tx, Revoked{Revocation: r, UserID: userID, Count: n})
	})
	if err != nil {
		return 0, fmt.Errorf("revoking the tokens of user %d: %w", userID, err)
	}
	t.forget(func(p *Principal) bool { return p.UserID == userID })
	return n, nil
}

// Revoke revokes the user's token with the public id (or with the secret,
// if publicIDOrSecret is a token) and forgets it at once on this replica.
func (t *Tokens) Revoke(ctx context.Context, userID int64, publicIDOrSecret string, r Revocation) error {
	r.Reason = RevokedOne
	publicID := publicIDOrSecret
	if strings.HasPrefix(publicIDOrSecret, TokenPrefix) {
		tok, err := t.db.TokenByHash(ctx, HashToken(publicIDOrSecret))
		if errors.Is(err, meta.ErrNotFound) || err == nil && tok.UserID != userID {
			return trove.Error(trove.ErrNotFound, "you have no such token")
		}
		if err != nil {
			return fmt.Errorf("revoking token: %w", err)
		}
		publicID = tok.PublicID
	}
	err := t.db.Tx(ctx, func(tx *meta.Tx) error {
		ok, err := tx.RevokeToken(ctx, userID, publicID, t.now().UTC())
		if err != nil || !ok {
			return err
		}
		toks, err := tx.TokensOfUser(ctx, userID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(toks, func(k *trove.Token) bool { return k.PublicID == publicID })
		if i < 0 {
			return fmt.Errorf("token %s vanished while it was revoked", publicID)
		}
		return t.revoked(ctx, tx, Revoked{Revocation: r, UserID: userID, Tokens: toks[i : i+1], Count: 1})
	})
	if errors.Is(err, meta.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "you have no token %s", publicID)
	}
	if err != nil {
		return fmt.Errorf("revoking token %s: %w", publicID, err)
	}
	t.forget(func(p *Principal) bool { return p.TokenPublicID == publicID })
	return nil
}

// RevokeEveryone revokes every token of every user, and returns how many
// and of how many users. Only administrators may ask for it (the caller
// checks).
func (t *Tokens) RevokeEveryone(ctx context.Context, r Revocation) (tokens, users int, err error) {
	r.Reason = RevokedEveryone
	err = t.db.Tx(ctx, func(tx *meta.Tx) error {
		per, err := tx.RevokeAllTokens(ctx, t.now().UTC())
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(per))
		for id := range per {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			tokens += per[id]
			if err := t.revoked(ctx, tx, Revoked{Revocation: r, UserID: id, Count: per[id]}); err != nil {
				return err
			}
		}
		users = len(ids)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("revoking every token: %w", err)
	}
	t.forget(func(*Principal) bool { return true })
	return tokens, users, nil
}

// canWrite reports whether a token's actions include one that changes
// packages: anything but reading and managing the user's tokens.
func canWrite(actions []string) bool {
	for _, a := range actions {
		if Action(a) != Read && Action(a) != ManageTokens {
			return true
		}
	}
	return false
}

// RevokePackage revokes every live token of the holders (the package's
// owners, as the caller read them) whose scope covers the package
// (ecosystem, key; key folded as for Pattern.Match) with an action that
// writes it. It returns how many it revoked. Tokens of users who are not
// holders are not touched, even when their scope covers the package: they
// cannot write it, and revoking them would let an owner revoke other
// users' wildcard tokens.
func (t *Tokens) RevokePackage(ctx context.Context, eco trove.Ecosystem, key trove.Name, holders []int64, r Revocation) (int, error) {
	r.Reason = RevokedPackage
	if r.Package == "" {
		r.Package = string(eco) + ":" + string(key)
	}
	holders = slices.Clone(holders)
	slices.Sort(holders) // locks in one order: no deadlock between two revocations
	holders = slices.Compact(holders)
	var n int
	var revoked []int64
	err := t.db.Tx(ctx, func(tx *meta.Tx) error {
		n, revoked = 0, nil
		now := t.now().UTC()
		for _, uid := range holders {
			if err := tx.LockUser(ctx, uid); err != nil {
				return err
			}
			toks, err := tx.TokensOfUser(ctx, uid)
			if err != nil {
				return err
			}
			var hit []*trove.Token
			var ids []int64
			for _, k := range toks {
				if !k.RevokedAt.IsZero() || !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) || !canWrite(k.Actions) {
					continue
				}
				if slices.ContainsFunc(k.Packages, func(p string) bool { return Pattern(p).Match(eco, key) }) {
					hit, ids = append(hit, k), append(ids, k.ID)
				}
			}
			k, err := tx.RevokeTokensByID(ctx, ids, now)
			if err != nil {
				return err
			}
			n += k
			revoked = append(revoked, ids...)
			if err := t.revoked(ctx, tx, Revoked{Revocation: r, UserID: uid, Tokens: hit, Count: k}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("revoking the tokens that can write %s: %w", r.Package, err)
	}
	t.forget(func(p *Principal) bool { return slices.Contains(revoked, p.TokenID) })
	return n, nil
}

// RevokeLeaked revokes the token whose secret was reported exposed, if it
// is live, and tells its owner where it was found (r.URL, r.Source). It
// reports whether it revoked a token; callers that answer the reporter
// must not reveal that (anyone may report, and the answer must not tell
// whether a guessed secret exists). A malformed, unknown, revoked or
// expired token changes nothing.
func (t *Tokens) RevokeLeaked(ctx context.Context, secret string, r Revocation) (bool, error) {
	r.Reason = RevokedLeaked
	if CheckToken(secret) != nil {
		return false, nil
	}
	h := HashToken(secret)
	var done bool
	err := t.db.Tx(ctx, func(tx *meta.Tx) error {
		done = false
		tok, err := tx.TokenByHash(ctx, h)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !tok.ExpiresAt.IsZero() && !t.now().Before(tok.ExpiresAt) {
			return nil
		}
		if done, err = tx.RevokeToken(ctx, tok.UserID, tok.PublicID, t.now().UTC()); err != nil || !done {
			return err
		}
		return t.revoked(ctx, tx, Revoked{Revocation: r, UserID: tok.UserID, Tokens: []*trove.Token{tok}, Count: 1})
	})
	if err != nil {
		return false, fmt.Errorf("revoking a leaked token: %w", err)
	}
	t.forget(func(p *Principal) bool { return p.tokenHash == h })
	return done, nil
}
