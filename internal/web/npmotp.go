package web

import (
	"net/http"

	"github.com/trove-dev/trove/internal/trove"
)

// npm's web one-time password, the web half (internal/npm/otp.go has the
// protocol half): a write of npm that needs a second factor answers with
// authUrl, /-/npm-otp/S here. The page shows the operation and the level
// it needs; the user confirms it (a POST, in sudo mode) from a session
// that signed in at that level, and npm's next poll of doneUrl gets a
// one-time value carrying the session's level. Only the user the
// challenge was made for sees it: anyone else gets the same 404 as for an
// unknown one.

// npmOTPPrefix is where npm's web one-time passwords are confirmed.
const npmOTPPrefix = "/-/npm-otp/"

// npmOTPView is what the confirmation page shows.
type npmOTPView struct {
	Action    string
	Operation string
	Needs     trove.AuthLevel
	Have      trove.AuthLevel
	Enough    bool // the session's level meets Needs
	Done      bool
}

// npmOTPPage serves GET /-/npm-otp/{id}.
func (h *Handler) npmOTPPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	id, ok := h.secretPage(w, r, h.o.NPMOTPs != nil)
	if !ok {
		return nil
	}
	c, err := h.o.NPMOTPs.Pending(r.Context(), id, v.User)
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "npmotp", npmOTPView{Action: npmOTPPrefix + id, Operation: c.Operation, Needs: c.Needs,
		Have: v.Session.Level, Enough: v.Session.Level.Meets(c.Needs)})
	return nil
}

// npmOTPConfirm serves POST /-/npm-otp/{id}.
func (h *Handler) npmOTPConfirm(w http.ResponseWriter, r *http.Request, v *Visit) error {
	id, ok := h.secretPage(w, r, h.o.NPMOTPs != nil)
	if !ok {
		return nil
	}
	if err := h.o.NPMOTPs.Confirm(r.Context(), id, v.User, v.Session.Level); err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "npmotp", npmOTPView{Done: true, Have: v.Session.Level})
	return nil
}
