package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SecurityTxt is what the server publishes at /.well-known/security.txt
// (RFC 9116): whom to tell about a vulnerability in this instance.
type SecurityTxt struct {
	// Contact lists mailto:, https: or tel: URIs, in order of preference.
	// Empty serves the loopback default (see DefaultSecurityContact).
	Contact []string
	// Expires is when the information becomes stale.
	Expires time.Time
	// Policy is the URL of the operator's disclosure policy, if any.
	Policy string
	// PreferredLanguages lists language tags, as "en, de".
	PreferredLanguages string
	// Canonical is the URL the file is served at.
	Canonical string
}

// DefaultSecurityContact is the contact of an instance whose operator set
// none, which configuration allows only when its public URL is a loopback
// address: no one but the machine's own users can reach it, and its
// administrator is the one to tell. Its expiry is always a week ahead.
const (
	DefaultSecurityContact = "mailto:root@localhost"
	defaultSecurityTTL     = 7 * 24 * time.Hour
)

// render writes the file as of now.
func (s SecurityTxt) render(now time.Time) string {
	var b strings.Builder
	contact, expires := s.Contact, s.Expires
	if len(contact) == 0 {
		b.WriteString("# No security contact is configured for this Trove instance (security.contact).\n" +
			"# It serves a loopback address only: tell the administrator of its machine.\n")
		contact, expires = []string{DefaultSecurityContact}, now.Add(defaultSecurityTTL).Truncate(time.Second)
	}
	for _, c := range contact {
		fmt.Fprintf(&b, "Contact: %s\n", c)
	}
	fmt.Fprintf(&b, "Expires: %s\n", expires.UTC().Format(time.RFC3339))
	if s.Policy != "" {
		fmt.Fprintf(&b, "Policy: %s\n", s.Policy)
	}
	if s.PreferredLanguages != "" {
		fmt.Fprintf(&b, "Preferred-Languages: %s\n", s.PreferredLanguages)
	}
	if s.Canonical != "" {
		fmt.Fprintf(&b, "Canonical: %s\n", s.Canonical)
	}
	return b.String()
}

// serveSecurityTxt serves GET /.well-known/security.txt.
func (s *Server) serveSecurityTxt(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	fmt.Fprint(w, s.opts.Security.render(time.Now()))
}
