package registry

import (
	"context"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/trove"
)

// checkVerified refuses a publish by a user whose email address is not
// verified (OSSF-AUTHN-1.1): a registry must be able to reach the people
// who publish, and a throwaway address must not be enough to publish.
func (s *Service) checkVerified(ctx context.Context, who *access.Principal) error {
	if who == nil {
		return nil // authorize already refused anonymous publishes
	}
	at, err := s.db.EmailVerifiedAt(ctx, who.UserID)
	if err != nil {
		return err
	}
	if at.IsZero() {
		return trove.Error(access.ErrDenied, "verify your email address first: we sent a link to %s (send it again from your account page at /-/account, or ask an administrator to run: trove admin user verify %s)",
			mail.Redact(who.Email), who.UserName)
	}
	return nil
}
