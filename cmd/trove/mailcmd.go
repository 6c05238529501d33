package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// mailServices are the outbox and what queues mail in it (docs/mail.md).
type mailServices struct {
	outbox   *mail.Outbox
	notes    *account.Notifications
	verify   *account.Verifications
	releases *account.ReleaseNotices
	sender   mail.Sender // nil: no mail server configured
}

// newMailServices builds the mail services of the configuration.
func newMailServices(c *config.Config, db *meta.DB) (*mailServices, error) {
	m := &mailServices{outbox: mail.NewOutbox(db, nil)}
	m.outbox.PerHour = c.Mail.PerRecipientHour
	m.notes = account.NewNotifications(db, m.outbox, c.BaseURL, nil)
	m.verify = account.NewVerifications(db, m.outbox, m.notes, c.BaseURL, nil)
	m.releases = account.NewReleaseNotices(db, m.outbox, c.BaseURL)
	if !c.Mail.Enabled() {
		return m, nil
	}
	pw, err := c.Mail.Password()
	if err != nil {
		return nil, err
	}
	s, err := mail.NewSMTP(mail.Config{Host: c.Mail.Host, Port: c.Mail.Port, From: c.Mail.From, Username: c.Mail.Username,
		Password: pw, TLS: c.Mail.TLS, Timeout: c.Mail.Timeout.Std()})
	if err != nil {
		return nil, err
	}
	m.sender = s
	return m, nil
}

// wireAccounts makes the account services notify and verify.
func (m *mailServices) wireAccounts(users *account.Users, tokens *access.Tokens) {
	users.SetNotifier(m.notes)
	users.SetVerifications(m.verify)
	tokens.OnCreate(func(ctx context.Context, tx *meta.Tx, tok *trove.Token) error {
		detail := fmt.Sprintf("token %s %q for %s (%s)", tok.PublicID, tok.Description, strings.Join(tok.Packages, " "), strings.Join(tok.Actions, ", "))
		return m.notes.NotifyTx(ctx, tx, account.Event{Kind: account.EventTokenCreated, UserID: tok.UserID, Detail: detail, At: tok.CreatedAt})
	})
	tokens.OnRevoke(func(ctx context.Context, tx *meta.Tx, rv access.Revoked) error {
		kind := account.EventTokenRevoked
		if rv.Reason == access.RevokedLeaked {
			kind = account.EventTokenLeaked
		}
		return m.notes.NotifyTx(ctx, tx, account.Event{Kind: kind, UserID: rv.UserID, Detail: rv.Detail(), Client: rv.Client})
	})
}

// startMailJobs starts the sender, the release notifier and the
// inactivity reminders (unless policy.inactive_after is 0) as leased jobs.
func startMailJobs(ctx context.Context, c *config.Config, s *stack, holder string) {
	if s.mail.sender == nil {
		slog.Warn("mail is not being delivered: mail.host is not set; messages wait in the outbox (trove admin mail list; docs/mail.md)")
	}
	go s.registry.RunJob(ctx, holder, registry.Job{Name: mail.JobName, Every: mail.JobEvery, Run: s.mail.outbox.Run(s.mail.sender)})
	go s.registry.RunJob(ctx, holder, registry.Job{Name: "release-mail", Every: 10 * time.Second, Run: s.mail.releases.Run})
	if after := c.Policy.InactiveAfter.Std(); after > 0 {
		reminders := account.NewRoleReminders(s.db, s.mail.outbox, after, nil)
		go s.registry.RunJob(ctx, holder, registry.Job{Name: account.ReviewJobName, Every: account.ReviewJobEvery, Run: reminders.Run})
	}
}

// newAdminMail is trove admin mail.
func newAdminMail(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "mail", Short: "Show and retry the mail in the outbox"}
	var status string
	var limit int
	list := &cobra.Command{
		Use:   "list [--status pending|sent|failed]",
		Short: "List the outbox, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				ms, err := mail.NewOutbox(db, nil).List(cmd.Context(), status, limit)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tKIND\tTO\tCREATED\tATTEMPTS\tLAST ERROR")
				for _, m := range ms {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.Status(), m.Kind, m.Recipient, m.CreatedAt.Format(time.RFC3339), m.Attempts, m.LastError)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&status, "status", "", "only messages in this state: pending, sent or failed")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many messages")
	retry := &cobra.Command{
		Use:   "retry ID",
		Short: "Send a message the sender gave up on again, with a fresh count of attempts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return hinted{fmt.Errorf("%q is not a message id", args[0]), "see the ids with: trove admin mail list --status failed"}
			}
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				err := mail.NewOutbox(db, nil).Retry(cmd.Context(), id)
				if errors.Is(err, meta.ErrNotFound) {
					return hinted{fmt.Errorf("no unsent message %d", id), "see the ids with: trove admin mail list --status failed"}
				}
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: message %d will be sent again within seconds by a running server\n", id)
				}
				return err
			})
		},
	}
	cmd.AddCommand(list, retry)
	return cmd
}

// newAdminUserVerify is trove admin user verify.
func newAdminUserVerify(g *globals) *cobra.Command {
	var resend bool
	cmd := &cobra.Command{
		Use:   "verify NAME [--resend]",
		Short: "Mark a user's email address verified on your word (logged and notified), or --resend the verification link",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				u, err := account.NewUsers(db, nil).ByName(cmd.Context(), args[0])
				if errors.Is(err, trove.ErrNotFound) {
					return hinted{fmt.Errorf("no user %q", args[0]), "list the accounts with: trove admin user list"}
				}
				if err != nil {
					return err
				}
				m, err := newMailServices(c, db)
				if err != nil {
					return err
				}
				if resend {
					if err := m.verify.Resend(cmd.Context(), u); err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "trove: queued a new verification link to %s\n", u.Email)
					return nil
				}
				if err := m.verify.MarkVerified(cmd.Context(), u, "operator (trove admin user verify)"); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: marked the email address of %s (%s) verified\n", u.Name, u.Email)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&resend, "resend", false, "mail a new verification link instead")
	return cmd
}

// reportVerification tells the operator what user add did about the
// address.
func reportVerification(cmd *cobra.Command, u *trove.User, verified bool) {
	if verified {
		slog.Info("email address marked verified by an operator", "user", u.Name, "by", "trove admin user add --verified")
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "trove: mailed a verification link to %s: %s cannot publish until it is followed (or run: trove admin user verify %s)\n", u.Email, u.Name, u.Name)
}

// newAdminInvite is trove admin invite.
func newAdminInvite(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "invite EMAIL",
		Short: "Mail an invitation to create an account (accounts.signup = \"invite\" or \"open\"; the link works once, for 7 days)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withDB(cmd.Context(), g, func(c *config.Config, db *meta.DB) error {
				if c.Accounts.SignupMode() == config.SignupClosed {
					return hinted{errors.New("sign-up is closed: an invitation's link would not work"),
						"set accounts.signup = \"invite\" (or create the account yourself: trove admin user add)"}
				}
				m, err := newMailServices(c, db)
				if err != nil {
					return err
				}
				if err := m.verify.Invite(cmd.Context(), args[0], nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "trove: queued an invitation to %s\n", args[0])
				return nil
			})
		},
	}
}

// cliNotifier is the Notifier of commands that change accounts: it
// records the event and queues its mail in the outbox, which a running
// server sends.
func cliNotifier(c *config.Config, db *meta.DB) account.Notifier {
	outbox := mail.NewOutbox(db, nil)
	outbox.PerHour = c.Mail.PerRecipientHour
	return account.NewNotifications(db, outbox, c.BaseURL, nil)
}
