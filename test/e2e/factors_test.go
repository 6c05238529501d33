//go:build e2e

package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

var enrolledSecret = regexp.MustCompile(`(?m)^secret: ([A-Z2-7]+)$`)

// EnrolTOTP gives user a TOTP authenticator, as an operator does (trove
// account totp enroll on the data directory, beside the running server),
// and returns its secret for TOTPCode.
func (tr *Trove) EnrolTOTP(t testing.TB, user string) string {
	t.Helper()
	out := tr.trove(t, "", "account", "totp", "enroll", "--user", user, "--name", "e2e")
	m := enrolledSecret.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trove account totp enroll printed no secret:\n%s", out)
	}
	return m[1]
}

// TOTPCode returns a code of secret that the server has not accepted yet:
// the code of the next 30-second step after enrolment or the last code
// used, waiting for that step to begin (a code is accepted once).
func TOTPCode(t testing.TB, secret string, after time.Time) (string, time.Time) {
	t.Helper()
	step := after.Truncate(30 * time.Second).Add(30 * time.Second)
	if d := time.Until(step); d > 0 {
		time.Sleep(d)
	}
	at := time.Now()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code, at
}

// TestWebSignInWithTOTP: an operator enrols TOTP for a user beside the
// running server (which made the factor key on its first start); the
// web sign-in then asks for the second step, refuses a wrong code and
// accepts the right one once.
func TestWebSignInWithTOTP(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	secret := tr.EnrolTOTP(t, "alice")
	enrolled := time.Now()
	jar := map[string]string{}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", tr.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", tr.URL)
		for k, v := range jar {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, ck := range resp.Cookies() {
			jar[ck.Name] = ck.Value
		}
		return resp
	}
	resp := post("/-/signin", url.Values{"name": {"alice"}, "password": {Password}, "next": {"/-/account"}})
	step := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(step, "/-/signin/factor") {
		t.Fatalf("password step: %d → %q, want the second step", resp.StatusCode, step)
	}
	if resp := post(step, url.Values{"code": {"000000"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong code: %d", resp.StatusCode)
	}
	code, _ := TOTPCode(t, secret, enrolled)
	if resp := post(step, url.Values{"code": {code}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/account" {
		t.Fatalf("the right code: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
