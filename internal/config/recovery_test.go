package config

import (
	"strings"
	"testing"
	"time"
)

// TestRecoverySettings: the breach corpus and DNS settings are checked
// with errors naming the setting.
func TestRecoverySettings(t *testing.T) {
	ok := Default()
	ok.Finish()
	ok.Accounts.BreachedPasswordsURL = "https://range.example/"
	ok.Accounts.DNSServer = "127.0.0.1:5353"
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid configuration: %v", err)
	}
	if Default().Accounts.DomainRecheck.Std() != 7*24*time.Hour {
		t.Errorf("default domain_recheck = %s, want 7d", Default().Accounts.DomainRecheck)
	}
	for _, tc := range []struct {
		set  func(a *Accounts)
		want string
	}{
		{func(a *Accounts) { a.BreachedPasswordsURL, a.BreachedPasswordsFile = "https://r.example", "/x" }, "not both"},
		{func(a *Accounts) { a.BreachedPasswordsURL = "range.example" }, "breached_passwords_url"},
		{func(a *Accounts) { a.BreachedPasswordsURL = "https://u:p@range.example" }, "credentials"},
		{func(a *Accounts) { a.DNSServer = "not a server" }, "accounts.dns_server"},
		{func(a *Accounts) { a.DomainRecheck = Duration(time.Minute) }, "accounts.domain_recheck"},
	} {
		c := Default()
		c.Finish()
		tc.set(&c.Accounts)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
		}
	}
}
