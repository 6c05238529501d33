package control

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// frameworkIDs are every control ID of ../shared/reference/frameworks.md.
var frameworkIDs = func() []string {
	var ids []string
	for _, s := range []string{"1.1", "1.2", "1.3", "1.4", "1.5", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2", "3.3"} {
		ids = append(ids, "OSSF-AUTHN-"+s)
	}
	for _, s := range []string{"1.1", "2.1", "3.1", "3.2", "3.3"} {
		ids = append(ids, "OSSF-AUTHZ-"+s)
	}
	for _, s := range []string{"1.1", "1.2", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3"} {
		ids = append(ids, "OSSF-GEN-"+s)
	}
	for _, s := range []string{"1.1", "2.1", "3.1", "3.2"} {
		ids = append(ids, "OSSF-CLI-"+s)
	}
	for i := 1; i <= 17; i++ {
		ids = append(ids, fmt.Sprintf("PKM-%02d", i))
	}
	for i := 1; i <= 19; i++ {
		ids = append(ids, "SCVS-4."+strconv.Itoa(i))
	}
	return ids
}()

func TestCatalogueIsComplete(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ctl := range c.Controls {
		seen[ctl.ID]++
	}
	for _, id := range frameworkIDs {
		if seen[id] != 1 {
			t.Errorf("control %s appears %d times in the catalogue, want once", id, seen[id])
		}
		delete(seen, id)
	}
	for id := range seen {
		t.Errorf("catalogue has %s, which is not a framework control", id)
	}
}

// TestClaimsNameExistingTests checks that every implemented or partial
// control names tests, and that each named test function exists.
func TestClaimsNameExistingTests(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	for _, ctl := range c.Controls {
		switch ctl.Status {
		case Implemented, Partial:
			if len(ctl.Tests) == 0 {
				t.Errorf("%s is %s but names no test", ctl.ID, ctl.Status)
			}
		case NotImplemented:
			if len(ctl.Tests) > 0 {
				t.Errorf("%s is not implemented but names tests", ctl.ID)
			}
			continue
		}
		if ctl.Status != Implemented && ctl.Notes == "" {
			t.Errorf("%s is %s without notes saying what is missing or why", ctl.ID, ctl.Status)
		}
		for _, ref := range ctl.Tests {
			dir, name, ok := strings.Cut(ref, " ")
			if !ok || !regexp.MustCompile(`^(Test|Fuzz|Benchmark)\w+$`).MatchString(name) {
				t.Errorf("%s: test reference %q is not \"dir TestName\"", ctl.ID, ref)
				continue
			}
			if !testExists(t, filepath.Join(root, dir), name) {
				t.Errorf("%s: test %s not found in %s", ctl.ID, name, dir)
			}
		}
		for _, doc := range ctl.Docs {
			if _, err := os.Stat(filepath.Join(root, doc)); err != nil {
				t.Errorf("%s: document %s: %v", ctl.ID, doc, err)
			}
		}
	}
}

func testExists(t *testing.T, dir, name string) bool {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(name) + `\(`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if re.Match(b) {
			return true
		}
	}
	return false
}

// TestSecurityPolicy: the project's vulnerability disclosure policy
// (SECURITY.md, OSSF-GEN-1.1) is published and says what the control
// requires: a private channel, when reporters hear back, a fix within 90
// days, safe harbour, and which versions are supported.
func TestSecurityPolicy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	policy := string(b)
	for _, want := range []string{
		"## Reporting a vulnerability in Trove", "security/advisories/new", "Do not open a public issue",
		"## What to expect", "within **3 working days**", "within **90 days**",
		"## Safe harbour", "in good faith",
		"## Supported versions",
		"/.well-known/security.txt",
	} {
		if !strings.Contains(policy, want) {
			t.Errorf("SECURITY.md lacks %q", want)
		}
	}
}

// TestAccountRecoveryPolicy: the account recovery policy
// (docs/security/account-recovery.md, OSSF-AUTHN-1.2) is published and
// says what the control requires: what a user recovers with and what
// not, why (domain takeover), the administrator's checks and command,
// timing and notifications, and how to configure the checks.
func TestAccountRecoveryPolicy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "security", "account-recovery.md"))
	if err != nil {
		t.Fatal(err)
	}
	policy := string(b)
	for _, want := range []string{
		"## What you can recover with", "recovery code", "passkey",
		"## What you cannot recover with", "has never lapsed", "new owner",
		"## Password reset by email", "works once, for\n   1 hour", "revokes every API token",
		"## Breached passwords", "Failing open", "breached_passwords_url", "breached_passwords_file",
		"## Email domains", "dns_server", "domain_recheck",
		"## Administrator-assisted recovery", "What the operator checks first", "trove admin user recover NAME --operator",
		"## Timing and notifications",
	} {
		if !strings.Contains(policy, want) {
			t.Errorf("docs/security/account-recovery.md lacks %q", want)
		}
	}
}

// TestRolesGuide: docs/roles.md, the roles guide (PKM-15), covers the
// roles, the token actions, organisations, succession, the terms of
// active engagement and the inactivity review (PKM-16).
func TestRolesGuide(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "roles.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(b)
	for _, want := range []string{
		"## Roles", "**owner**", "**maintainer**", "**reader**",
		"## Token actions", "Owner changes need the `owners` action", "Migration of existing tokens",
		"## Organisations", "trove org accept", "### Namespaces", "### Teams", "### Transfers", "owner add org:acme",
		"## Succession", "keeps at least one owner", "When an account is deleted",
		"## Terms of active engagement",
		"## Reviewing roles", "trove owner review", "trove org review", "policy.inactive_after", "once every 30 days",
	} {
		if !strings.Contains(guide, want) {
			t.Errorf("docs/roles.md lacks %q", want)
		}
	}
}
