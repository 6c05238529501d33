package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// WebAuthn: security keys and passkeys
//
// The relying party id is the host of the server's base URL, and the only
// origin accepted is the base URL's. A ceremony (registration, second-
// factor sign-in, passwordless sign-in) begins on the server, which keeps
// what it expects back (the challenge) in webauthn_ceremonies for
// ceremonyTTL and gives the browser a random token naming it; the
// browser's answer comes back with the token and the ceremony is deleted
// as it is read, so it completes at most once. The user handle a passkey
// carries is 32 random bytes per user (users.webauthn_handle), never the
// user id or name.
//
// Registration prefers a resident (discoverable) credential, so a passkey
// can sign in without a password; passwordless sign-in requires user
// verification (a PIN or biometric on the authenticator).

// ceremonyTTL bounds a WebAuthn ceremony.
const ceremonyTTL = 5 * time.Minute

// Ceremony kinds.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"
	ceremonyPasskey  = "passkey"
)

var b64 = base64.RawURLEncoding

// A Ceremony is a WebAuthn ceremony begun: Options go to the browser (the
// JSON whose publicKey member PublicKeyCredential.parseCreationOptionsFromJSON
// or parseRequestOptionsFromJSON takes), and Token comes back with the
// browser's answer.
type Ceremony struct {
	Token   string
	Options json.RawMessage
}

// waUser is a user as the WebAuthn library sees them.
type waUser struct {
	u       *trove.User
	handle  []byte
	creds   []webauthn.Credential
	factors []*meta.Factor
}

func (w *waUser) WebAuthnID() []byte                         { return w.handle }
func (w *waUser) WebAuthnName() string                       { return w.u.Name }
func (w *waUser) WebAuthnDisplayName() string                { return w.u.Name }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func credentialOf(m *meta.Factor) (webauthn.Credential, error) {
	var c webauthn.Credential
	err := json.Unmarshal(m.Credential, &c)
	return c, err
}

func residentHint(c webauthn.Credential) bool {
	return c.Extensions.RK != nil && *c.Extensions.RK
}

// loadUser reads the user's handle and usable credentials (not those
// refused for a clone warning), giving them a handle first if create.
func (f *Factors) loadUser(ctx context.Context, u *trove.User, create bool) (*waUser, error) {
	h, err := f.db.WebAuthnHandle(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the user handle: %w", err)
	}
	if h == "" && create {
		raw := make([]byte, 32)
		rand.Read(raw)
		err := f.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetWebAuthnHandle(ctx, u.ID, b64.EncodeToString(raw)) })
		if err != nil && !errors.Is(err, meta.ErrNotFound) { // ErrNotFound: set meanwhile
			return nil, fmt.Errorf("setting the user handle: %w", err)
		}
		return f.loadUser(ctx, u, false)
	}
	w := &waUser{u: u}
	if w.handle, err = b64.DecodeString(h); err != nil {
		return nil, fmt.Errorf("user %s has a malformed WebAuthn handle", u.Name)
	}
	fs, err := f.db.Factors(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("listing factors: %w", err)
	}
	for _, m := range fs {
		if m.Kind != meta.FactorWebAuthn || m.CloneWarning {
			continue
		}
		c, err := credentialOf(m)
		if err != nil {
			return nil, fmt.Errorf("reading the credential of factor %d: %w", m.ID, err)
		}
		w.creds, w.factors = append(w.creds, c), append(w.factors, m)
	}
	return w, nil
}

// relyingParty returns the WebAuthn configuration, or why there is none.
func (f *Factors) relyingParty() (*webauthn.WebAuthn, error) {
	if f.rp == nil {
		return nil, f.rpErr
	}
	return f.rp, nil
}

// begin stores a ceremony's session data and returns its token and the
// browser's options.
func (f *Factors) begin(ctx context.Context, kind string, userID int64, opts any, sess *webauthn.SessionData) (*Ceremony, error) {
	data, err := json.Marshal(sess)
	if err != nil {
		return nil, err
	}
	options, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token := b64.EncodeToString(raw)
	now := f.now()
	c := meta.Ceremony{ID: ceremonyID(token), UserID: userID, Kind: kind, Data: data, ExpiresAt: now.Add(ceremonyTTL).UTC()}
	if err := f.db.Tx(ctx, func(tx *meta.Tx) error { return tx.PutCeremony(ctx, c, now) }); err != nil {
		return nil, fmt.Errorf("storing the ceremony: %w", err)
	}
	return &Ceremony{Token: token, Options: options}, nil
}

func ceremonyID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// take ends the ceremony named by token, which must be of kind and begun
// for userID (0: passwordless), and returns its session data.
func (f *Factors) take(ctx context.Context, kind, token string, userID int64) (webauthn.SessionData, error) {
	var c meta.Ceremony
	err := f.db.Tx(ctx, func(tx *meta.Tx) (err error) {
		c, err = tx.TakeCeremony(ctx, ceremonyID(token), kind, f.now())
		return err
	})
	if errors.Is(err, meta.ErrNotFound) || err == nil && c.UserID != userID {
		return webauthn.SessionData{}, fmt.Errorf("%w: the request expired or was used already; start again", ErrWebAuthn)
	}
	if err != nil {
		return webauthn.SessionData{}, fmt.Errorf("reading the ceremony: %w", err)
	}
	var sess webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sess); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("reading the ceremony: %w", err)
	}
	return sess, nil
}

// BeginRegistration starts adding a security key or passkey to the user's
// account.
func (f *Factors) BeginRegistration(ctx context.Context, u *trove.User) (*Ceremony, error) {
	rp, err := f.relyingParty()
	if err != nil {
		return nil, err
	}
	w, err := f.loadUser(ctx, u, true)
	if err != nil {
		return nil, err
	}
	opts, sess, err := rp.BeginRegistration(w,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithExclusions(webauthn.Credentials(w.creds).CredentialDescriptors()),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, fmt.Errorf("beginning registration: %w", err)
	}
	return f.begin(ctx, ceremonyRegister, u.ID, opts, sess)
}

// FinishRegistration checks the browser's answer (credential.toJSON())
// to the ceremony named by token and adds the credential as a factor
// named name. If it is the user's first factor, it returns their new
// recovery codes, to be shown once.
func (f *Factors) FinishRegistration(ctx context.Context, u *trove.User, token, name string, response []byte, client string) (*Factor, []string, error) {
	name, err := checkFactorName(name)
	if err != nil {
		return nil, nil, err
	}
	rp, err := f.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	sess, err := f.take(ctx, ceremonyRegister, token, u.ID)
	if err != nil {
		return nil, nil, err
	}
	w, err := f.loadUser(ctx, u, false)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrWebAuthn, describe(err))
	}
	cred, err := rp.CreateCredential(w, sess, parsed)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrWebAuthn, describe(err))
	}
	return f.storeCredential(ctx, u.ID, name, cred, client)
}

func (f *Factors) storeCredential(ctx context.Context, userID int64, name string, cred *webauthn.Credential, client string) (*Factor, []string, error) {
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, nil, err
	}
	now := f.now().UTC()
	m := &meta.Factor{UserID: userID, Kind: meta.FactorWebAuthn, Name: name, CreatedAt: now, ConfirmedAt: now,
		CredentialID: b64.EncodeToString(cred.ID), Credential: data}
	var recovery []string
	err = f.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.InsertFactor(ctx, m); err != nil {
			return err
		}
		recovery, err = f.firstFactor(ctx, tx, userID)
		return err
	})
	if errors.Is(err, meta.ErrConflict) {
		return nil, nil, fmt.Errorf("%w: this security key is registered already", ErrWebAuthn)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("storing the security key: %w", err)
	}
	f.added(ctx, userID, m, client, recovery)
	fa := factorOf(m)
	return &fa, recovery, nil
}

// BeginLogin starts a second-factor sign-in with one of the user's
// security keys; ErrNoFactor if they have none.
func (f *Factors) BeginLogin(ctx context.Context, u *trove.User) (*Ceremony, error) {
	rp, err := f.relyingParty()
	if err != nil {
		return nil, err
	}
	w, err := f.loadUser(ctx, u, false)
	if err != nil {
		return nil, err
	}
	if len(w.creds) == 0 {
		return nil, fmt.Errorf("%w: %s has no security key", ErrNoFactor, u.Name)
	}
	opts, sess, err := rp.BeginLogin(w)
	if err != nil {
		return nil, fmt.Errorf("beginning sign-in: %w", err)
	}
	return f.begin(ctx, ceremonyLogin, u.ID, opts, sess)
}

// FinishLogin checks the browser's answer to the second-factor ceremony
// named by token. A signature that does not verify is ErrWebAuthn; a
// credential whose sign count went backwards is ErrClonedKey (and is
// refused from then on).
func (f *Factors) FinishLogin(ctx context.Context, u *trove.User, token string, response []byte, client string) error {
	rp, err := f.relyingParty()
	if err != nil {
		return err
	}
	sess, err := f.take(ctx, ceremonyLogin, token, u.ID)
	if err != nil {
		return err
	}
	w, err := f.loadUser(ctx, u, false)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrWebAuthn, describe(err))
	}
	cred, err := rp.ValidateLogin(w, sess, parsed)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrWebAuthn, describe(err))
	}
	return f.used(ctx, w, cred, client)
}

// BeginPasskeyLogin starts a passwordless sign-in: any passkey of this
// server, with user verification.
func (f *Factors) BeginPasskeyLogin(ctx context.Context) (*Ceremony, error) {
	rp, err := f.relyingParty()
	if err != nil {
		return nil, err
	}
	opts, sess, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("beginning sign-in: %w", err)
	}
	return f.begin(ctx, ceremonyPasskey, 0, opts, sess)
}

// FinishPasskeyLogin checks the browser's answer to the passwordless
// ceremony named by token and returns the user whose passkey it was.
// Errors as FinishLogin.
func (f *Factors) FinishPasskeyLogin(ctx context.Context, token string, response []byte, client string) (*trove.User, error) {
	rp, err := f.relyingParty()
	if err != nil {
		return nil, err
	}
	sess, err := f.take(ctx, ceremonyPasskey, token, 0)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebAuthn, describe(err))
	}
	var found *waUser
	handler := func(rawID, handle []byte) (webauthn.User, error) {
		u, err := f.db.UserByWebAuthnHandle(ctx, b64.EncodeToString(handle))
		if err != nil {
			return nil, fmt.Errorf("no account has this passkey")
		}
		if found, err = f.loadUser(ctx, u, false); err != nil {
			return nil, err
		}
		return found, nil
	}
	_, cred, err := rp.ValidatePasskeyLogin(handler, sess, parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebAuthn, describe(err))
	}
	if err := f.used(ctx, found, cred, client); err != nil {
		return nil, err
	}
	return found.u, nil
}

// used records a credential's sign-in: its new sign count and flags, or
// its clone warning, which refuses the sign-in.
func (f *Factors) used(ctx context.Context, w *waUser, cred *webauthn.Credential, client string) error {
	var m *meta.Factor
	for i, c := range w.creds {
		if string(c.ID) == string(cred.ID) {
			m = w.factors[i]
		}
	}
	if m == nil {
		return fmt.Errorf("%w: unknown credential", ErrWebAuthn)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	clone := cred.Authenticator.CloneWarning
	if err := f.db.Tx(ctx, func(tx *meta.Tx) error { return tx.UpdateCredential(ctx, m.ID, data, clone, f.now().UTC()) }); err != nil {
		return fmt.Errorf("recording the security key's use: %w", err)
	}
	if clone {
		f.event(ctx, EventCloneWarning, w.u.ID, client,
			"security key %q answered with an older sign count than before: it may have been copied. It is refused until you remove it", m.Name)
		return ErrClonedKey
	}
	return nil
}

// describe gives the library's detailed reason for a failed check.
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return err.Error()
}

// WebAuthnAvailable returns nil if security keys and passkeys work on
// this server, and otherwise why not (the base URL names no host name).
func (f *Factors) WebAuthnAvailable() error {
	_, err := f.relyingParty()
	return err
}

// WebAuthnOrigin returns the one origin security keys work at (such as
// http://localhost:8080), "" when they do not work at all.
func (f *Factors) WebAuthnOrigin() string {
	if f.rp == nil {
		return ""
	}
	return f.rp.Config.RPOrigins[0]
}
