//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// A totpFactor is a TOTP authenticator of a user, as the harness holds
// it: its secret, and the last time step whose code was given (Trove
// accepts each step's code once).
type totpFactor struct {
	secret string
	last   int64
}

const totpPeriod = 30

// OTP returns a fresh one-time password of one of user's authenticators,
// enrolling one (trove account totp enroll) when none has an unused code
// valid now. Trove accepts the codes of the step before and after the
// current one, each once; so a user who needs many codes at once gets
// several authenticators, as people with a phone and a tablet have,
// instead of the test waiting for the next step.
func (tr *Trove) OTP(t testing.TB, user string) string {
	t.Helper()
	tr.totpMu.Lock()
	defer tr.totpMu.Unlock()
	cur := time.Now().Unix() / totpPeriod
	for _, f := range tr.totp[user] {
		if f.last < cur+1 {
			f.last = max(f.last+1, cur)
			return totpCode(t, f.secret, f.last)
		}
	}
	out := tr.trove(t, "", "account", "totp", "enroll", "--user", user, "--name", fmt.Sprintf("e2e-%d", len(tr.totp[user])+1))
	m := regexp.MustCompile(`(?m)^secret: ([A-Z2-7]+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trove account totp enroll printed no secret:\n%s", out)
	}
	// Enrolment used up the step it ran in.
	f := &totpFactor{secret: m[1], last: time.Now().Unix()/totpPeriod + 1}
	if tr.totp == nil {
		tr.totp = make(map[string][]*totpFactor)
	}
	tr.totp[user] = append(tr.totp[user], f)
	return totpCode(t, f.secret, f.last)
}

// totpCode returns the code of a TOTP secret at a time step.
func totpCode(t testing.TB, secret string, step int64) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// factorKey is where a server with the data directory keeps the key that
// seals TOTP secrets (accounts.factor_key_file's default).
func factorKey(data string) string { return filepath.Join(data, "keys", "factors.key") }
