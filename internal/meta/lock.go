package meta

import (
	"context"
	"hash/fnv"

	"github.com/trove-dev/trove/internal/trove"
)

// Locks
//
// SQLite runs one write transaction at a time, so a transaction that reads
// then writes decides on a state no one else can change before it commits.
// PostgreSQL runs write transactions concurrently (READ COMMITTED), so
// every such decision is held by a lock, taken at the start of the
// transaction, or by a constraint:
//
//   - The sequencer lock (a transaction-scoped advisory lock on
//     sequencerLockKey) is taken by the first log append or change-feed
//     insert of a transaction and held until it ends: transparency log
//     record ids stay contiguous (translog.Append reads LogSize, then
//     writes record LogSize), and change serials commit in the order they
//     were assigned, so that a follower reading "id > last" skips none.
//   - LockPackage locks a package's row: changes to a package's owners,
//     releases and tags, and the transaction that makes an upload visible,
//     run one at a time per package (no two owners removing each other).
//   - LockName takes an advisory lock on a key of names not yet created (a
//     namespace, a look-alike skeleton), so that the creation of packages
//     that would collide runs one at a time and the second sees the first.
//   - LockCredential takes an advisory lock on a publishing credential:
//     the worm guard's decisions (registry/burst.go) for one credential
//     run one at a time, each counting the ones before it.
//   - LockUser locks a user's row: token creation and revoking all of a
//     user's tokens run one at a time per user.
//   - LockOrg locks an organisation's row: changes to its members, teams,
//     invitations and packages run one at a time per organisation (no two
//     owners removing each other), and so do the checks of the roles its
//     members hold on its packages where a change depends on them.
//   - LiveToken reads a token FOR SHARE: a revocation waits for the
//     transactions that rely on the token, and they see a committed one.
//
// Lock order, to rule out deadlocks: name locks and credential locks
// (never both in one transaction), then organisation rows, then user and
// package rows, then the sequencer, which is always last.
const (
	// sequencerLockKey is the advisory lock that serializes appends to the
	// transparency log and the change feed (the bytes "trovelog").
	sequencerLockKey int64 = 0x74726f76656c6f67
	// migrationLockKey is the advisory lock held while migrating (the
	// bytes "trovemig").
	migrationLockKey int64 = 0x74726f76656d6967
	// nameLockClass is the first key of the two-key advisory locks of
	// LockName; two-key and one-key advisory locks never collide.
	nameLockClass int32 = 0x74726f76
	// credentialLockClass is the first key of LockCredential's locks.
	credentialLockClass int32 = 0x63726564
)

// sequence takes the sequencer lock, once per transaction.
func (tx *Tx) sequence(ctx context.Context) error {
	if tx.sequenced || !tx.d.advisory {
		return nil
	}
	if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, sequencerLockKey); err != nil {
		return err
	}
	tx.sequenced = true
	return nil
}

// LockName holds the name key of the ecosystem until the transaction
// ends: transactions locking the same key run one after the other. Callers
// lock the keys they check for collisions before checking them, and in
// the same order every time (see the lock order above).
func (tx *Tx) LockName(ctx context.Context, ecosystem, key string) error {
	if !tx.d.advisory {
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(ecosystem))
	h.Write([]byte{0})
	h.Write([]byte(key))
	_, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?, ?)`, nameLockClass, int32(h.Sum32()))
	return err
}

// LockCredential holds the credential's key until the transaction ends:
// transactions locking the same credential run one after the other.
func (tx *Tx) LockCredential(ctx context.Context, c Credential) error {
	if !tx.d.advisory {
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(c.key()))
	_, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(?, ?)`, credentialLockClass, int32(h.Sum32()))
	return err
}

// LockPackage locks the package's row until the transaction ends. A
// package that does not exist (or no longer does) is ErrNotFound.
func (tx *Tx) LockPackage(ctx context.Context, packageID int64) error {
	var id int64
	err := tx.row(ctx, `SELECT id FROM packages WHERE id = ?`+tx.d.forUpdate, packageID).Scan(&id)
	return tx.err(err)
}

// PackageForUpdate returns the package (ecosystem, name) with its row
// locked until the transaction ends, as LockPackage does.
func (tx *Tx) PackageForUpdate(ctx context.Context, ecosystem trove.Ecosystem, name trove.Name) (*trove.Package, error) {
	p, err := scanPackage(tx.row(ctx, `SELECT `+packageCols+` FROM packages WHERE ecosystem = ? AND name = ?`+tx.d.forUpdate, ecosystem, name))
	return p, tx.err(err)
}

// LockUser locks the user's row until the transaction ends. A user that
// does not exist is ErrNotFound.
func (tx *Tx) LockUser(ctx context.Context, userID int64) error {
	var id int64
	err := tx.row(ctx, `SELECT id FROM users WHERE id = ?`+tx.d.forUpdate, userID).Scan(&id)
	return tx.err(err)
}

// LiveToken returns the token with the id, revoked or not, and keeps it
// from being revoked until the transaction ends: a revocation that
// committed first is seen, one that comes later waits.
func (tx *Tx) LiveToken(ctx context.Context, id int64) (*trove.Token, error) {
	t, err := scanToken(tx.row(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`+tx.d.forShare, id))
	return t, tx.err(err)
}
