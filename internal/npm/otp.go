package npm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// The OTP challenge
//
// npm asks for a one-time password when a write is answered with 401 and
// a WWW-Authenticate header holding exactly "OTP" (its check splits the
// header on commas and compares each part, lowercased, with "otp":
// `OTP realm=…` is not recognised). It then sends the code in the
// npm-otp header of the same request again; `--otp=CODE` sends it on the
// first request. It prompts only on a terminal; elsewhere it fails with
// EOTP and says to pass --otp.
//
// Trove challenges the writes (publish, unpublish, deprecate, dist-tag and
// owner changes, token creation and revocation) of an account that has a
// TOTP authenticator when the token presented was minted without a second
// factor (its level is below trove.AuthMFA: an npm login answered with
// the password alone, a token made on the command line without --otp).
// A token minted after a second factor already carries that proof and is
// not challenged again, which is what lets automation publish. A valid
// code raises the request's principal to trove.AuthMFA (Principal.Raised)
// for that request only, which the registry's MFA policy then accepts. A
// code is checked by account.Factors: replays are refused and wrong codes
// draw on the account's MFA attempt budget (429 once spent).
//
// A code cannot give more than AuthMFA: a package that needs a
// phishing-resistant sign-in (a critical package) refuses with 403 and
// says to create a token after signing in with a security key.

// npm's web one-time password
//
// An account with a security key or passkey is offered npm's web flow
// ("webauth", npm 9 and later) in the same 401: its JSON body carries
// authUrl and doneUrl. npm on a terminal prints authUrl (a web page where
// the user confirms the operation, signed in at the level it needs) and
// polls doneUrl, with its token, until it receives {"token": V}; it then
// sends the same request again with V as npm-otp. V raises that request
// to the level the confirming web session had proved, so a key sign-in
// in the browser satisfies a critical package's policy. The offer is made
//
//   - to a token below AuthMFA of an account with a WebAuthn factor, at
//     once, asking the level the package needs (at least AuthMFA); the
//     body says --otp still works when the account has a TOTP app too;
//   - to a token at AuthMFA whose write the policy refuses for want of a
//     phishing-resistant sign-in, when the account has a WebAuthn factor:
//     the refusal becomes the offer.
//
// Accounts with a TOTP app only get the plain challenge, as before (npm
// prompts when the body has no URLs). account.NPMOTPs keeps the
// challenges: single-use, NPMOTPTTL, bound to the user and to the
// request's method and path.

// Factors checks one-time passwords of users' TOTP authenticators
// (account.Factors implements it).
type Factors interface {
	// HasTOTP reports whether the user has a TOTP authenticator.
	HasTOTP(ctx context.Context, userID int64) (bool, error)
	// VerifyTOTP checks a code: account.ErrBadCode for a wrong or replayed
	// one, account.ErrThrottled once the attempt budget is spent.
	VerifyTOTP(ctx context.Context, userID int64, code string, from netip.Addr) error
	// Strongest returns the strongest level the user's factors reach.
	Strongest(ctx context.Context, userID int64) (trove.AuthLevel, error)
}

type serveFunc = func(http.ResponseWriter, *http.Request, request) error

// OTPHeader is the request header npm sends a one-time password in.
const OTPHeader = "npm-otp"

type otpKey struct{}

// otpVerified reports whether the request carried a valid one-time password.
func otpVerified(ctx context.Context) bool {
	ok, _ := ctx.Value(otpKey{}).(bool)
	return ok
}

// operation names the request a web one-time password is bound to.
func operation(r *http.Request) string { return r.Method + " " + r.URL.EscapedPath() }

// withOTP wraps the endpoint of a write with the OTP challenge.
func (h *Handler) withOTP(serve serveFunc) serveFunc {
	return func(w http.ResponseWriter, r *http.Request, req request) error {
		who := access.PrincipalFrom(r.Context())
		if h.o.Factors == nil || who == nil {
			return serve(w, r, req)
		}
		code := r.Header.Get(OTPHeader)
		if account.IsNPMOTP(code) && h.o.WebOTP != nil {
			level, err := h.o.WebOTP.Redeem(r.Context(), code, who.UserID, operation(r))
			if errors.Is(err, account.ErrNPMOTPNotFound) || errors.Is(err, account.ErrNPMOTPOperation) {
				return h.webChallenge(w, r, req, who, trove.AuthMFA, "the web one-time password is unknown, expired, already used or made for another operation: confirm this one")
			}
			if err != nil {
				return err
			}
			ctx := context.WithValue(access.WithPrincipal(r.Context(), who.Raised(level)), otpKey{}, true)
			return serve(w, r.WithContext(ctx), req)
		}
		if code == "" && who.Level.Meets(trove.AuthMFA) {
			err := serve(w, r, req)
			var le *access.LevelError
			if errors.As(err, &le) && h.o.WebOTP != nil {
				if strongest, serr := h.o.Factors.Strongest(r.Context(), who.UserID); serr == nil && strongest.Meets(le.Need) {
					return h.webChallenge(w, r, req, who, le.Need, fmt.Sprintf("%s %s needs a %s sign-in", le.Ecosystem, le.Name, le.Need))
				}
			}
			return err
		}
		has, err := h.o.Factors.HasTOTP(r.Context(), who.UserID)
		if err != nil {
			return err
		}
		if code == "" {
			strongest, err := h.o.Factors.Strongest(r.Context(), who.UserID)
			switch {
			case err != nil:
				return err
			case strongest.Meets(trove.AuthPhishingResistant) && h.o.WebOTP != nil:
				msg := "this operation needs a second factor: confirm it in your browser"
				if has {
					msg += ", or pass --otp=<code> from your authenticator app"
				}
				return h.webChallenge(w, r, req, who, h.needs(r.Context(), req), msg)
			case has:
				return challenge(w, "this operation needs a one-time password from your authenticator app: enter it when npm asks, or pass --otp=<code>")
			}
			return serve(w, r, req) // the MFA policy refuses what this token cannot do
		}
		if !has {
			return serve(w, r, req)
		}
		err = h.o.Factors.VerifyTOTP(r.Context(), who.UserID, code, limit.RemoteAddr(r.RemoteAddr))
		if errors.Is(err, account.ErrBadCode) {
			return challenge(w, "the one-time password is wrong or was already used: wait for the next code of your authenticator app and try again")
		}
		if err != nil {
			return err
		}
		ctx := context.WithValue(access.WithPrincipal(r.Context(), who.Raised(trove.AuthMFA)), otpKey{}, true)
		return serve(w, r.WithContext(ctx), req)
	}
}

// needs returns the level a write to the request's package needs, at
// least AuthMFA: what the web page must see proved.
func (h *Handler) needs(ctx context.Context, req request) trove.AuthLevel {
	if req.name == "" || h.o.Registry == nil {
		return trove.AuthMFA
	}
	pol, err := h.o.Registry.Policy(ctx, trove.NPM, string(req.name))
	if err != nil { // a new package: the default, which a second factor meets
		return trove.AuthMFA
	}
	return max(pol.Needs, trove.AuthMFA)
}

// webChallenge answers 401 with the OTP header and npm's web flow: a new
// challenge of the user, for this request, at level needs.
func (h *Handler) webChallenge(w http.ResponseWriter, r *http.Request, req request, who *access.Principal, needs trove.AuthLevel, msg string) error {
	authID, doneID, err := h.o.WebOTP.Start(r.Context(), who.UserID, operation(r), needs)
	if err != nil {
		return err
	}
	authURL := h.o.WebURL + "/-/npm-otp/" + authID
	w.Header().Set("WWW-Authenticate", "OTP")
	w.Header().Set("Cache-Control", "no-store")
	return adapter.WriteJSON(w, http.StatusUnauthorized, map[string]string{
		"error":   msg + ": open " + authURL,
		"authUrl": authURL,
		"doneUrl": h.o.BaseURL + "/-/v1/otp-done?id=" + doneID,
	})
}

// otpDone serves GET /-/v1/otp-done?id=S, which npm polls with its token
// after a web challenge: 202 with Retry-After until the user confirmed,
// then 200 {"token": V} once. An unknown, expired or used challenge, and
// one of another user, are one 404: the done secret is 256 random bits,
// so the answer tells nothing a guesser could use, and npm stops polling
// instead of waiting out a challenge that will never be confirmed.
func (h *Handler) otpDone(w http.ResponseWriter, r *http.Request, _ request) error {
	who := access.PrincipalFrom(r.Context())
	id := r.URL.Query().Get("id")
	if h.o.WebOTP == nil || who == nil || !validSecret(id) {
		return account.ErrNPMOTPNotFound
	}
	otp, err := h.o.WebOTP.Poll(r.Context(), id, who.UserID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if otp == "" {
		w.Header().Set("Retry-After", "1")
		return adapter.WriteJSON(w, http.StatusAccepted, struct{}{})
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{"token": otp})
}

// challenge answers 401 with the header that makes npm ask for a code.
func challenge(w http.ResponseWriter, msg string) error {
	w.Header().Set("WWW-Authenticate", "OTP")
	return adapter.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
}

// loginLevel is the level of an npm login (legacy: name and password)
// of the user: AuthMFA if it carried a valid one-time password, else
// AuthPassword. A wrong or replayed code is answered with the challenge
// again; loginLevel then returns AuthNone and the error of writing it.
func (h *Handler) loginLevel(w http.ResponseWriter, r *http.Request, userID int64) (trove.AuthLevel, error) {
	code := r.Header.Get(OTPHeader)
	if code == "" || h.o.Factors == nil {
		return trove.AuthPassword, nil
	}
	err := h.o.Factors.VerifyTOTP(r.Context(), userID, code, limit.RemoteAddr(r.RemoteAddr))
	switch {
	case errors.Is(err, account.ErrBadCode):
		return trove.AuthNone, challenge(w, "the one-time password is wrong or was already used: log in again with the next code")
	case err != nil:
		return trove.AuthNone, err
	}
	return trove.AuthMFA, nil
}

// newTokenLevel is the level of a token minted by this request: a
// password sign-in, and a second factor if it carried a valid code.
func newTokenLevel(ctx context.Context) trove.AuthLevel {
	if otpVerified(ctx) {
		return trove.AuthMFA
	}
	return trove.AuthPassword
}
