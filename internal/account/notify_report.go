package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
)

// Report decisions
//
// When an administrator acts on the queue (removes a release, quarantines
// one or releases it, releases a held upload, dismisses reports), the package's owners and the users
// whose reports the action closed are mailed, at their verified address,
// in the transaction of the decision. Reporters learn the decision on
// what they reported, never who else reported it.

// A Decision is an administrator's action on a reported package or
// release, as its mail says it.
type Decision struct {
	Ecosystem, Package, Version string
	// Action is "removed", "released", "dismissed" or "quarantined".
	Action string
	Reason string
	// Quarantine: the release was quarantined (Action "released": it
	// came back from quarantine).
	Quarantine bool
	// Malicious: removed as malicious, and published as an OSV record.
	Malicious bool
}

// mailKindDecision names decision mails in the outbox.
const mailKindDecision = "report-decision"

// DecisionTx queues the mail telling a user of a decision, within tx: an
// owner of the package (owner) or a reporter. A user without a verified
// address gets none.
func (n *Notifications) DecisionTx(ctx context.Context, tx *meta.Tx, userID int64, d Decision, owner bool) error {
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("mailing a report decision: %w", err)
	}
	verified, err := tx.EmailVerifiedAt(ctx, userID)
	if err != nil || verified.IsZero() {
		return err
	}
	what := strings.TrimSpace(d.Ecosystem + " " + d.Package + " " + d.Version)
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", u.Name)
	switch {
	case owner && d.Action == "removed":
		fmt.Fprintf(&b, "The administrators of this Trove registry took down %s, a release of a package you own:\n"+
			"it can no longer be installed, and its version can never be published again.\n", what)
		if d.Malicious {
			fmt.Fprintf(&b, "They found it malicious: it is published as an OSV advisory at %s/osv/.\n"+
				"If you did not publish it, a credential of yours was probably stolen: revoke your tokens\n"+
				"and sign out everywhere at %s/-/account/security.\n", n.base, n.base)
		}
	case owner && d.Action == "quarantined":
		fmt.Fprintf(&b, "The administrators of this Trove registry quarantined %s, a release of a package you own,\n"+
			"while they look into reports about it: it cannot be installed, nor seen, until they\n"+
			"release it (it comes back as it was) or take it down for good. Its version stays taken.\n"+
			"If you did not publish it, a credential of yours was probably stolen: revoke your tokens\n"+
			"and sign out everywhere at %s/-/account/security.\n", what, n.base)
	case owner && d.Action == "released" && d.Quarantine:
		fmt.Fprintf(&b, "The administrators of this Trove registry released %s, a release of a package you own,\n"+
			"from quarantine: it is back as it was, and its reports are closed.\n", what)
	case owner:
		fmt.Fprintf(&b, "Reports about %s, which you own, were closed by the administrators of this Trove registry (%s).\n", what, d.Action)
	default:
		fmt.Fprintf(&b, "Thank you for your report about %s. The administrators of this Trove registry decided:\n%s.\n", what, d.Action)
	}
	if d.Reason != "" {
		fmt.Fprintf(&b, "\nTheir reason:\n  %s\n", d.Reason)
	}
	subject := fmt.Sprintf("Trove: %s %s", what, d.Action)
	return n.outbox.Enqueue(ctx, tx, mail.Message{To: u.Email, Subject: subject, Body: b.String(), Kind: mailKindDecision})
}
