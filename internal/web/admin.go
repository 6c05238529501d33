package web

import (
	"net/http"
	"net/url"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

// adminPageSize is how many users one page of the admin list shows.
const adminPageSize = 50

// adminView is what the users page shows.
type adminView struct {
	Users    []adminUser
	Next     string // the name the next page starts after; "" on the last
	Message  string
	Deletion bool // the server deletes accounts here
}

// adminUser is a row of the users page.
type adminUser struct {
	*trove.User
	Verified bool // its address is verified
}

var adminMessages = map[string]string{
	"disable": "The account was disabled: it cannot sign in, and its tokens and sessions stop working.",
	"enable":  "The account was enabled again.",
	"unlock":  "Failed sign-ins of the account no longer count: it may try again at once.",
	"reset":   "The account must choose a new password at its next sign-in; its sessions were signed out.",
	"verify":  "A new verification link was mailed to the account's address.",
	"delete":  "The account was deleted: its name stays taken, its credentials and personal data are erased, and it was removed from the owners of its packages.",
}

// adminUsers serves GET /-/admin/users?after=NAME.
func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	users, err := h.o.Users.Page(r.Context(), r.URL.Query().Get("after"), adminPageSize+1)
	if err != nil {
		return err
	}
	av := adminView{Message: adminMessages[r.URL.Query().Get("done")], Deletion: h.o.Deletions != nil}
	if len(users) > adminPageSize {
		users = users[:adminPageSize]
		av.Next = users[adminPageSize-1].Name
	}
	for _, u := range users {
		row := adminUser{User: u}
		if !u.Deleted() {
			if row.Verified, err = h.o.Users.Verified(r.Context(), u); err != nil {
				return err
			}
		}
		av.Users = append(av.Users, row)
	}
	h.page(w, r, http.StatusOK, "admin", av)
	return nil
}

// adminAction serves POST /-/admin/users/{name}/{action}: disable,
// enable, unlock, reset or verify (mail a new verification link; the
// outbox limits the mail to one recipient). A deleted account is not
// found.
func (h *Handler) adminAction(w http.ResponseWriter, r *http.Request, v *Visit) error {
	u, err := h.o.Users.ByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	switch action {
	case "disable":
		if u.ID == v.User.ID {
			return trove.Error(trove.ErrInvalid, "you cannot disable your own account")
		}
		err = h.disable(r, u)
	case "enable":
		err = h.o.Users.SetDisabled(r.Context(), u, false)
	case "unlock":
		err = h.o.Users.Unlock(r.Context(), u.Name)
	case "reset":
		if err = h.o.Users.ForceReset(r.Context(), u); err == nil {
			_, err = h.o.Sessions.RevokeAll(r.Context(), u.ID, 0)
		}
	case "verify":
		if h.o.Verify == nil {
			return trove.Error(trove.ErrNotFound, "this server does not verify email addresses")
		}
		err = h.o.Verify.Resend(r.Context(), u)
	default:
		return trove.Error(trove.ErrNotFound, "no administrative action %q", action)
	}
	if err != nil {
		return err
	}
	if action == "reset" || action == "disable" {
		h.notify(r, account.EventAdminRecovery, u.ID, "an administrator ("+v.User.Name+") chose: "+action)
	}
	return redirect(w, r, "/-/admin/users?done="+action+"&after="+url.QueryEscape(r.URL.Query().Get("after")))
}

// disable disables the account, ends its sessions and drops its tokens
// from this replica's cache.
func (h *Handler) disable(r *http.Request, u *trove.User) error {
	if err := h.o.Users.SetDisabled(r.Context(), u, true); err != nil {
		return err
	}
	if _, err := h.o.Sessions.RevokeAll(r.Context(), u.ID, 0); err != nil {
		return err
	}
	h.o.Tokens.Forget(u.ID)
	return nil
}
