package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// Abandoned email domains (OSSF-AUTHN-2.1)
//
// Whoever registers a lapsed domain receives its mail, including password
// resets. So a reset goes through an address only while its domain is
// alive: it exists in DNS and can receive mail (an MX record other than
// the null MX, or failing that an address record, RFC 5321 §5.1).

// A DomainStatus is what DNS says of an email domain.
type DomainStatus string

// Domain statuses.
const (
	// DomainAlive: the domain exists and names a mail server or a host.
	DomainAlive DomainStatus = "alive"
	// DomainDead: the domain does not exist (NXDOMAIN), or has neither a
	// mail server nor an address.
	DomainDead DomainStatus = "dead"
	// DomainUnknown: DNS did not answer (timeout, server failure).
	DomainUnknown DomainStatus = "unknown"
)

// A Resolver is the part of *net.Resolver the domain check uses.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// NewResolver returns a resolver that asks server ("host:port" or a host,
// port 53) over UDP (TCP for truncated answers), or the system's resolver
// when server is empty.
func NewResolver(server string) (*net.Resolver, error) {
	if server == "" {
		return net.DefaultResolver, nil
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "53")
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		return nil, fmt.Errorf("accounts.dns_server %q: want host:port such as 127.0.0.1:53", server)
	}
	var d net.Dialer
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, server)
	}}, nil
}

// DomainTimeout bounds one domain check.
const DomainTimeout = 10 * time.Second

// A DomainChecker tells whether email domains are alive.
type DomainChecker struct {
	r Resolver
}

// NewDomainChecker returns a checker over r.
func NewDomainChecker(r Resolver) *DomainChecker { return &DomainChecker{r: r} }

// Check returns the status of domain and, for a dead or unknown one, why.
func (c *DomainChecker) Check(ctx context.Context, domain string) (DomainStatus, string) {
	ctx, cancel := context.WithTimeout(ctx, DomainTimeout)
	defer cancel()
	fqdn := strings.TrimSuffix(strings.ToLower(domain), ".") + "."
	mx, err := c.r.LookupMX(ctx, fqdn)
	if err != nil && !notFound(err) {
		return DomainUnknown, fmt.Sprintf("looking up the MX records of %s: %v", domain, err)
	}
	for _, m := range mx {
		if m.Host != "." && m.Host != "" {
			return DomainAlive, ""
		}
	}
	nullMX := len(mx) > 0
	addrs, aerr := c.r.LookupNetIP(ctx, "ip", fqdn)
	if aerr != nil && !notFound(aerr) {
		return DomainUnknown, fmt.Sprintf("looking up the addresses of %s: %v", domain, aerr)
	}
	switch {
	case nullMX:
		return DomainDead, domain + " says it accepts no mail (null MX)"
	case len(addrs) > 0:
		return DomainAlive, ""
	}
	// Go's resolver answers "no such host" both for NXDOMAIN and for a
	// name without records of the type; either way nothing receives mail.
	return DomainDead, domain + " does not exist in DNS or has no mail server (MX) and no address (A/AAAA)"
}

// notFound reports a DNS answer that the name or record does not exist.
func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// EmailDomain returns the domain of an address, lowercase.
func EmailDomain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}

// DomainRecheck is how often a domain in use is checked again.
const DomainRecheck = 7 * 24 * time.Hour

// Domains records what DNS says of the email domains in use, so that a
// domain that lapsed once is remembered even if it comes back (perhaps
// under a new owner).
type Domains struct {
	db    *meta.DB
	check *DomainChecker
	now   func() time.Time
}

// NewDomains returns the service over db and a checker. now may be nil.
func NewDomains(db *meta.DB, check *DomainChecker, now func() time.Time) *Domains {
	if now == nil {
		now = time.Now
	}
	return &Domains{db: db, check: check, now: now}
}

// Refresh checks domain now and records the verdict.
func (d *Domains) Refresh(ctx context.Context, domain string) (*meta.EmailDomain, error) {
	domain = strings.ToLower(domain)
	st, why := d.check.Check(ctx, domain)
	v := meta.EmailDomain{Domain: domain, Status: string(st), Reason: why, CheckedAt: d.now().UTC()}
	if err := d.db.Tx(ctx, func(tx *meta.Tx) error { return tx.PutEmailDomain(ctx, v) }); err != nil {
		return nil, fmt.Errorf("recording the DNS status of %s: %w", domain, err)
	}
	got, err := d.db.EmailDomainByName(ctx, domain)
	if err != nil {
		return nil, fmt.Errorf("reading the DNS status of %s: %w", domain, err)
	}
	return got, nil
}

// ResetAllowed checks domain now and reports whether a password reset
// may be mailed to it: only if it is alive and was never seen dead. If
// not, it says why, in words for the operator's log.
func (d *Domains) ResetAllowed(ctx context.Context, domain string) (bool, string, error) {
	v, err := d.Refresh(ctx, domain)
	if err != nil {
		return false, "", err
	}
	switch {
	case v.Status == string(DomainUnknown):
		return false, "DNS did not answer about " + domain + " (" + v.Reason + "); try again later", nil
	case v.Status == string(DomainDead):
		return false, v.Reason, nil
	case !v.DeadSince.IsZero():
		return false, fmt.Sprintf("%s was seen dead on %s and has come back, perhaps under a new owner (an administrator can clear it after checking)",
			domain, v.DeadSince.Format(time.DateOnly)), nil
	}
	return true, "", nil
}

// RecheckDue checks every email domain of an account whose last verdict
// is older than every (or that has none), logs the domains found dead
// with the accounts that can no longer reset through them, and returns
// how many it checked.
func (d *Domains) RecheckDue(ctx context.Context, every time.Duration) (int, error) {
	users, err := d.db.Users(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing accounts: %w", err)
	}
	known, err := d.db.EmailDomains(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing email domains: %w", err)
	}
	last := make(map[string]time.Time)
	for _, v := range known {
		last[v.Domain] = v.CheckedAt
	}
	byDomain := make(map[string][]string)
	for _, u := range users {
		if dom := EmailDomain(u.Email); dom != "" {
			byDomain[dom] = append(byDomain[dom], u.Name)
		}
	}
	n := 0
	for _, dom := range slices.Sorted(maps.Keys(byDomain)) {
		if at, ok := last[dom]; ok && d.now().Sub(at) < every {
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		v, err := d.Refresh(ctx, dom)
		if err != nil {
			return n, err
		}
		n++
		if v.Status == string(DomainDead) {
			slog.Warn("email domain is dead: its accounts can no longer reset their password by email (recovery codes, passkeys or an administrator)",
				"domain", dom, "reason", v.Reason, "accounts", strings.Join(byDomain[dom], ","))
		}
	}
	return n, nil
}
