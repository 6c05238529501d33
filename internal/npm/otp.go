package npm

import (
	"context"
	"errors"
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

// Factors checks one-time passwords of users' TOTP authenticators
// (account.Factors implements it).
type Factors interface {
	// HasTOTP reports whether the user has a TOTP authenticator.
	HasTOTP(ctx context.Context, userID int64) (bool, error)
	// VerifyTOTP checks a code: account.ErrBadCode for a wrong or replayed
	// one, account.ErrThrottled once the attempt budget is spent.
	VerifyTOTP(ctx context.Context, userID int64, code string, from netip.Addr) error
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

// withOTP wraps the endpoint of a write with the OTP challenge.
func (h *Handler) withOTP(serve serveFunc) serveFunc {
	return func(w http.ResponseWriter, r *http.Request, req request) error {
		who := access.PrincipalFrom(r.Context())
		if h.o.Factors == nil || who == nil {
			return serve(w, r, req)
		}
		code := r.Header.Get(OTPHeader)
		if code == "" && who.Level.Meets(trove.AuthMFA) {
			return serve(w, r, req)
		}
		has, err := h.o.Factors.HasTOTP(r.Context(), who.UserID)
		switch {
		case err != nil:
			return err
		case !has:
			return serve(w, r, req) // the MFA policy refuses what this token cannot do
		case code == "":
			return challenge(w, "this operation needs a one-time password from your authenticator app: enter it when npm asks, or pass --otp=<code>")
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
