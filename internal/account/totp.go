package account

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// TOTP (RFC 6238): 6 digits, SHA-1, 30-second steps, as every
// authenticator app supports. A code is accepted for the step before, the
// current step and the step after (clocks drift), and only for a step
// later than the last one accepted for that factor.
const (
	totpPeriod = 30
	// totpSkew is how many steps either side of now a code may be for.
	totpSkew = 1
	// enrolTTL is how long a TOTP enrolment waits for its first code.
	enrolTTL   = 10 * time.Minute
	totpIssuer = "Trove"
)

// A TOTPEnrolment is a TOTP factor being added: what the user copies into
// their authenticator app. Secret is shown once and never again.
type TOTPEnrolment struct {
	FactorID int64
	Secret   string // base32
	URL      string // otpauth://totp/…
	QR       []byte // the URL as a QR code, PNG
}

// BeginTOTP starts adding a TOTP factor named name: the factor exists,
// unusable, until ConfirmTOTP sees a code from it (within 10 minutes).
func (f *Factors) BeginTOTP(ctx context.Context, u *trove.User, name string) (*TOTPEnrolment, error) {
	return f.enrolTOTP(ctx, u, name, false)
}

func (f *Factors) enrolTOTP(ctx context.Context, u *trove.User, name string, confirmed bool) (*TOTPEnrolment, error) {
	name, err := checkFactorName(name)
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Name, Period: totpPeriod, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("generating a TOTP secret: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, fmt.Errorf("drawing the QR code: %w", err)
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return nil, fmt.Errorf("drawing the QR code: %w", err)
	}
	now := f.now().UTC()
	m := &meta.Factor{UserID: u.ID, Kind: meta.FactorTOTP, Name: name, CreatedAt: now, Secret: f.seal.seal(u.ID, key.Secret())}
	if confirmed {
		m.ConfirmedAt = now
		m.LastStep = now.Unix() / totpPeriod // codes from now on
	}
	err = f.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.DeletePendingFactors(ctx, now.Add(-enrolTTL)); err != nil {
			return err
		}
		if err := f.sealCheck(ctx, tx); err != nil {
			return err
		}
		return tx.InsertFactor(ctx, m)
	})
	if err != nil {
		return nil, fmt.Errorf("storing the TOTP factor: %w", err)
	}
	return &TOTPEnrolment{FactorID: m.ID, Secret: key.Secret(), URL: key.URL(), QR: qr.Bytes()}, nil
}

// ConfirmTOTP finishes adding the user's TOTP factor id with a code from
// it. If it is the user's first factor, it returns their new recovery
// codes, to be shown once. A wrong code is ErrBadCode and the enrolment
// stays pending; an unknown or expired one is ErrNoFactor. client says
// where the change came from.
func (f *Factors) ConfirmTOTP(ctx context.Context, userID, id int64, code, client string) (recovery []string, err error) {
	now := f.now()
	m, err := f.db.Factor(ctx, userID, id)
	if errors.Is(err, meta.ErrNotFound) || err == nil && (m.Kind != meta.FactorTOTP || !m.ConfirmedAt.IsZero() || now.Sub(m.CreatedAt) > enrolTTL) {
		return nil, fmt.Errorf("%w: the enrolment expired or was finished already; start again", ErrNoFactor)
	}
	if err != nil {
		return nil, fmt.Errorf("reading factor %d: %w", id, err)
	}
	secret, err := f.seal.open(userID, m.Secret)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(secret, code, now, 0)
	if !ok {
		return nil, ErrBadCode
	}
	err = f.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.ConfirmFactor(ctx, userID, id, step, now.UTC()); err != nil {
			return err
		}
		recovery, err = f.firstFactor(ctx, tx, userID)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("%w: the enrolment was finished already", ErrNoFactor)
	}
	if err != nil {
		return nil, fmt.Errorf("confirming factor %d: %w", id, err)
	}
	f.added(ctx, userID, m, client, recovery)
	return recovery, nil
}

// EnrollTOTP adds a TOTP factor to the user's account at once, without a
// code: an operator enrolling on the user's behalf (trove account totp
// enroll), who hands the secret over. It returns the recovery codes too if
// it is the user's first factor.
func (f *Factors) EnrollTOTP(ctx context.Context, u *trove.User, name, client string) (*TOTPEnrolment, []string, error) {
	e, err := f.enrolTOTP(ctx, u, name, true)
	if err != nil {
		return nil, nil, err
	}
	var recovery []string
	err = f.db.Tx(ctx, func(tx *meta.Tx) (err error) {
		recovery, err = f.firstFactor(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating recovery codes: %w", err)
	}
	f.added(ctx, u.ID, &meta.Factor{Kind: meta.FactorTOTP, Name: name}, client, recovery)
	e.QR = nil
	return e, recovery, nil
}

// added tells the owner of a new factor (and of new recovery codes).
func (f *Factors) added(ctx context.Context, userID int64, m *meta.Factor, client string, recovery []string) {
	f.event(ctx, EventFactorAdded, userID, client, "%s %q", kindWords(m.Kind), strings.TrimSpace(m.Name))
	if recovery != nil {
		f.event(ctx, EventRecoveryCodesNew, userID, client, "%d recovery codes, made with your first second factor", len(recovery))
	}
}

// VerifyTOTP checks a code of one of the user's TOTP factors, refusing
// replays and drawing on the MFA attempt budget; ErrBadCode on a wrong or
// replayed code, ErrThrottled when the budget is spent.
func (f *Factors) VerifyTOTP(ctx context.Context, userID int64, code string, from netip.Addr) error {
	tk, err := f.reserveCode(ctx, userID, from)
	if err != nil {
		return err
	}
	ok, err := f.checkTOTP(ctx, userID, code)
	if err != nil {
		f.refundCode(tk)
		return err
	}
	if !ok {
		f.failedCode(ctx, userID, tk, from)
		return ErrBadCode
	}
	f.refundCode(tk)
	return nil
}

// checkTOTP reports whether code is a fresh code of one of the user's
// TOTP factors, and if so records its step so it is not accepted again.
func (f *Factors) checkTOTP(ctx context.Context, userID int64, code string) (bool, error) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return false, nil
	}
	fs, err := f.db.Factors(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("listing factors: %w", err)
	}
	now := f.now()
	for _, m := range fs {
		if m.Kind != meta.FactorTOTP {
			continue
		}
		secret, err := f.seal.open(userID, m.Secret)
		if err != nil {
			return false, err
		}
		step, ok := matchTOTP(secret, code, now, m.LastStep)
		if !ok {
			continue
		}
		err = f.db.Tx(ctx, func(tx *meta.Tx) error { return tx.AdvanceStep(ctx, m.ID, step, now.UTC()) })
		if errors.Is(err, meta.ErrNotFound) {
			continue // a concurrent request used this code (or a later one) first
		}
		if err != nil {
			return false, fmt.Errorf("recording the code's use: %w", err)
		}
		return true, nil
	}
	return false, nil
}

// matchTOTP returns the step, later than lastStep and within totpSkew of
// now, that code is the code of.
func matchTOTP(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	cur := now.Unix() / totpPeriod
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		if s <= lastStep || s < 0 {
			continue
		}
		ok, err := hotp.ValidateCustom(code, uint64(s), secret, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && ok {
			return s, true
		}
	}
	return 0, false
}

// CheckKey makes sure this server's factor key opens the stored TOTP
// secrets: a server given another key than the one they were sealed with
// (a replica without the first server's key file, a restore without it)
// refuses to start instead of failing every sign-in. The database also
// records which key seals secrets (a fingerprint); while no secret is
// stored a server with another key takes that role over, with a warning,
// and from then on a server with a different key refuses to enrol
// (sealCheck) rather than seal secrets the others cannot open.
func (f *Factors) CheckKey(ctx context.Context) error {
	m, err := f.db.SomeTOTPFactor(ctx)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("reading a TOTP factor: %w", err)
	}
	if m != nil {
		if _, err := f.seal.open(m.UserID, m.Secret); err != nil {
			return err
		}
	}
	return f.db.Tx(ctx, func(tx *meta.Tx) error {
		recorded, err := tx.ClaimFactorKey(ctx, f.seal.fingerprint(), f.now().UTC())
		if err != nil || recorded == f.seal.fingerprint() {
			return err
		}
		slog.Warn("this server's factor key differs from the one recorded in the database, which seals no TOTP secret yet: " +
			"this key replaces it; servers sharing the database need the same accounts.factor_key_file")
		return tx.SetFactorKey(ctx, f.seal.fingerprint(), f.now().UTC())
	})
}

// sealCheck refuses to seal a secret under a key other than the one the
// database records (claiming it if none is): another server could not
// open it.
func (f *Factors) sealCheck(ctx context.Context, tx *meta.Tx) error {
	recorded, err := tx.ClaimFactorKey(ctx, f.seal.fingerprint(), f.now().UTC())
	if err != nil {
		return err
	}
	if recorded != f.seal.fingerprint() {
		return errWrongKey
	}
	return nil
}

// DropUnreadable removes, as an administrator would, every TOTP factor
// whose secret does not open with this server's factor key: the way out
// when the key is lost (the secrets are then useless to everyone). Each
// owner is told; users sign in with another factor or a recovery code and
// add their app again. It returns the factors removed.
func (f *Factors) DropUnreadable(ctx context.Context, admin string) ([]Factor, error) {
	all, err := f.db.TOTPFactors(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing TOTP factors: %w", err)
	}
	var dropped []Factor
	for _, m := range all {
		if _, err := f.seal.open(m.UserID, m.Secret); err == nil {
			continue
		}
		if _, err := f.AdminRemove(ctx, m.UserID, m.ID, admin); err != nil {
			return dropped, err
		}
		fa := factorOf(m)
		dropped = append(dropped, fa)
	}
	// This key is the factor key from now on.
	err = f.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetFactorKey(ctx, f.seal.fingerprint(), f.now().UTC()) })
	return dropped, err
}
