package account

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// New devices
//
// A sign-in through a client that says who it is (web sign-ins and npm
// logins put the user agent in the context with WithUserAgent) records
// its device: the user agent's family (a browser's name, or a tool's such
// as npm) and the client's network (its /24 for IPv4, /48 for IPv6). The
// first sign-in from a device not seen before on the account, other than
// the account's very first, is a security event (EventNewDevice).

type userAgentKey struct{}

// WithUserAgent returns ctx carrying the sign-in's user agent, which makes
// SignIn record the device and tell the owner about new ones.
func WithUserAgent(ctx context.Context, ua string) context.Context {
	return context.WithValue(ctx, userAgentKey{}, ua)
}

func userAgent(ctx context.Context) (string, bool) {
	ua, ok := ctx.Value(userAgentKey{}).(string)
	return ua, ok
}

// DeviceOf names the device of a sign-in: user agent family and network.
func DeviceOf(ua string, addr netip.Addr) string {
	bits := 24
	if addr.Is6() && !addr.Is4In6() {
		bits = 48
	}
	net := "unknown"
	if p, err := addr.Unmap().Prefix(bits); err == nil && addr.IsValid() {
		net = p.String()
	}
	return UserAgentFamily(ua) + " " + net
}

// UserAgentFamily returns the browser or tool a user agent names: Firefox,
// Edge, Chrome, Safari, or the product token of tools (npm, pip, curl).
func UserAgentFamily(ua string) string {
	switch {
	case strings.Contains(ua, "Firefox/"):
		return "Firefox"
	case strings.Contains(ua, "Edg/"):
		return "Edge"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/"):
		return "Chrome"
	case strings.Contains(ua, "Safari/"):
		return "Safari"
	}
	product, _, _ := strings.Cut(strings.TrimSpace(ua), "/")
	product, _, _ = strings.Cut(product, " ")
	if product == "" || len(product) > 32 {
		return "unknown"
	}
	return strings.ToLower(product)
}

// SetNotifier makes the account service tell owners about lockouts and
// sign-ins from new devices.
func (s *Users) SetNotifier(n Notifier) { s.notifier = n }

// seen records the device of a successful sign-in and notifies the owner
// of a new one. Failures are logged: they do not fail the sign-in.
func (s *Users) seen(ctx context.Context, u *trove.User, from netip.Addr) {
	ua, ok := userAgent(ctx)
	if !ok || s.notifier == nil {
		return
	}
	device := DeviceOf(ua, from)
	var isNew, first bool
	err := s.db.Tx(ctx, func(tx *meta.Tx) error {
		n, err := tx.KnownDeviceCount(ctx, u.ID)
		if err != nil {
			return err
		}
		first = n == 0
		isNew, err = tx.SeeDevice(ctx, u.ID, device, s.now().UTC())
		return err
	})
	if err != nil {
		slog.Warn("recording a sign-in's device", "user", u.Name, "err", err)
		return
	}
	if !isNew || first {
		return
	}
	e := Event{Kind: EventNewDevice, UserID: u.ID, Detail: "signed in with " + device, Client: from.String() + " " + ua, At: s.now()}
	if err := s.notifier.Notify(ctx, e); err != nil {
		slog.Warn("notifying a sign-in from a new device", "user", u.Name, "err", err)
	}
}

// lockedOut tells the owner of name, once per lockout window on this
// server, that sign-ins are locked because of wrong passwords.
func (s *Users) lockedOut(ctx context.Context, name string, since time.Time, from netip.Addr) {
	if s.notifier == nil {
		return
	}
	t := s.throttle
	t.mu.Lock()
	if t.lockNotified == nil || len(t.lockNotified) > maxTracked {
		t.lockNotified = make(map[string]time.Time)
	}
	done := !t.lockNotified[name].Before(since)
	t.lockNotified[name] = since
	t.mu.Unlock()
	if done {
		return
	}
	u, err := s.db.UserByName(ctx, name)
	if err != nil || u.Deleted() {
		return // unknown names and deleted accounts have no owner to tell
	}
	e := Event{Kind: EventLockout, UserID: u.ID, Client: "last attempt from " + from.String(),
		Detail: "sign-ins locked until " + since.Add(FailureWindow).UTC().Format(time.RFC3339) + " (or until an administrator unlocks them)", At: s.now()}
	if err := s.notifier.Notify(context.WithoutCancel(ctx), e); err != nil {
		slog.Warn("notifying a lockout", "user", name, "err", err)
	}
}
