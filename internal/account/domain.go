package account

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
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
