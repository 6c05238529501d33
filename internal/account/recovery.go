package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/trove-dev/trove/internal/meta"
)

// Recovery codes
//
// A user with a second factor holds RecoveryCodes single-use codes, made
// with their first factor and shown once; each stands in for a factor at
// one sign-in. A code is 10 random base32 characters (50 bits), shown as
// two groups of five ("k7m2q-x9d4r"). Only its SHA-256 is stored: a slow
// hash adds nothing to 50 random bits, and guessing is bounded like TOTP
// codes (MaxFactorFailures).

// RecoveryCodes is how many codes a user holds.
const RecoveryCodes = 10

var codeEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRecoveryCodes returns n fresh codes and their hashes.
func newRecoveryCodes(n int) (codes, hashes []string) {
	for range n {
		b := make([]byte, 7) // 56 bits; 50 are kept
		rand.Read(b)
		s := codeEncoding.EncodeToString(b)[:10]
		codes = append(codes, s[:5]+"-"+s[5:])
		hashes = append(hashes, hashRecoveryCode(s))
	}
	return codes, hashes
}

// normalizeRecoveryCode drops separators and case; ok is false for a
// string that cannot be a code.
func normalizeRecoveryCode(code string) (string, bool) {
	s := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	if len(s) != 10 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		return "", false
	}
	return s, true
}

func hashRecoveryCode(normalized string) string {
	h := sha256.Sum256([]byte("trove recovery code\x00" + normalized))
	return hex.EncodeToString(h[:])
}

// firstFactor makes recovery codes for a user who just added their first
// factor (and holds none unused); it returns nil otherwise.
func (f *Factors) firstFactor(ctx context.Context, tx *meta.Tx, userID int64) ([]string, error) {
	fs, err := tx.Factors(ctx, userID)
	if err != nil {
		return nil, err
	}
	left, err := tx.RecoveryCodesLeft(ctx, userID)
	if err != nil || len(fs) != 1 || left > 0 {
		return nil, err
	}
	codes, hashes := newRecoveryCodes(RecoveryCodes)
	return codes, tx.ReplaceRecoveryCodes(ctx, userID, hashes, f.now().UTC())
}

// NewRecoveryCodes replaces the user's recovery codes, used or not, with
// RecoveryCodes new ones, to be shown once. Callers ask for recent
// re-authentication (sudo mode) first. A user without a second factor
// gets none (ErrNoFactor).
func (f *Factors) NewRecoveryCodes(ctx context.Context, userID int64, client string) ([]string, error) {
	codes, hashes := newRecoveryCodes(RecoveryCodes)
	err := f.db.Tx(ctx, func(tx *meta.Tx) error {
		fs, err := tx.Factors(ctx, userID)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			return fmt.Errorf("%w: recovery codes stand in for a second factor; add one first", ErrNoFactor)
		}
		return tx.ReplaceRecoveryCodes(ctx, userID, hashes, f.now().UTC())
	})
	if err != nil {
		return nil, err
	}
	f.event(ctx, EventRecoveryCodesNew, userID, client, "%d new recovery codes; the old ones no longer work", len(codes))
	return codes, nil
}

// RecoveryCodesLeft returns how many unused recovery codes the user holds.
func (f *Factors) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	return f.db.RecoveryCodesLeft(ctx, userID)
}

// UseRecoveryCode spends one of the user's recovery codes, drawing on the
// same attempt budget as TOTP codes: ErrBadCode on a wrong or used code,
// ErrThrottled when the budget is spent. The owner is told.
func (f *Factors) UseRecoveryCode(ctx context.Context, userID int64, code string, from netip.Addr) error {
	tk, err := f.reserveCode(ctx, userID, from)
	if err != nil {
		return err
	}
	left, err := f.spendRecoveryCode(ctx, userID, code)
	if errors.Is(err, ErrBadCode) {
		f.failedCode(ctx, userID, tk, from)
		return err
	}
	f.refundCode(tk)
	if err != nil {
		return err
	}
	f.event(ctx, EventRecoveryCodeUsed, userID, from.String(), "a recovery code was used to sign in; %d left", left)
	return nil
}

func (f *Factors) spendRecoveryCode(ctx context.Context, userID int64, code string) (left int, err error) {
	s, ok := normalizeRecoveryCode(code)
	if !ok {
		return 0, ErrBadCode
	}
	err = f.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.UseRecoveryCode(ctx, userID, hashRecoveryCode(s), f.now().UTC()); err != nil {
			return err
		}
		left, err = tx.RecoveryCodesLeft(ctx, userID)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return 0, ErrBadCode
	}
	if err != nil {
		return 0, fmt.Errorf("using a recovery code: %w", err)
	}
	return left, nil
}

// VerifyCode checks a second-factor code typed at sign-in: a TOTP code
// (six digits) or a recovery code. Errors as VerifyTOTP.
func (f *Factors) VerifyCode(ctx context.Context, userID int64, code string, from netip.Addr) error {
	if _, ok := normalizeRecoveryCode(code); ok {
		return f.UseRecoveryCode(ctx, userID, code, from)
	}
	return f.VerifyTOTP(ctx, userID, code, from)
}
