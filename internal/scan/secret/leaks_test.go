package secret

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/scan"
)

// Sample credentials are built from pieces at run time, as gitleaks' own
// tests do, so that no file of this repository holds one whole (a
// push-protection scanner would refuse it).

// randFrom returns n characters of alphabet drawn from a fixed seed.
func randFrom(seed uint64, alphabet string, n int) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	upperB32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	alnum    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b64      = alnum + "+/"
	digits   = "0123456789"
)

// pemKey returns a PEM private key block of the given type ("RSA ", "EC "
// or "" for PKCS #8) holding a key generated for the test, its body in
// 64-character lines joined by nl ("\n", or `\n` as in JSON): elided
// examples are no finding (plausibleKey), so samples must be real keys.
func pemKey(kind, nl string) string {
	keysOnce.Do(func() {
		rsaKey, err := rsa.GenerateKey(crand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ecKey, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
		if err != nil {
			panic(err)
		}
		ecDER, _ := x509.MarshalECPrivateKey(ecKey)
		p8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
		keyDER = map[string][]byte{"RSA ": x509.MarshalPKCS1PrivateKey(rsaKey), "EC ": ecDER, "": p8}
	})
	var b strings.Builder
	b.WriteString("-----BEGIN " + kind + "PRIVATE KEY-----" + nl)
	body := base64.StdEncoding.EncodeToString(keyDER[kind])
	for i := 0; i < len(body); i += 64 {
		b.WriteString(body[i:min(i+64, len(body))] + nl)
	}
	b.WriteString("-----END " + kind + "PRIVATE KEY-----" + nl)
	return b.String()
}

var (
	keysOnce sync.Once
	keyDER   map[string][]byte
)

func leaksScanner(t testing.TB, v scan.Verdict) *Leaks {
	t.Helper()
	l, err := NewLeaks(v)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// scanText scans one npm tarball holding text at package/lib/config.js.
func scanText(t *testing.T, l *Leaks, name, text string) []scan.Finding {
	t.Helper()
	tgz := archivetest.TarGz(t, archivetest.TarEntry{Name: "package/package.json", Body: `{"name":"leaky","version":"1.0.0"}`},
		archivetest.TarEntry{Name: name, Body: text})
	fs, err := l.Scan(context.Background(), &scan.Artifact{Ecosystem: "npm", Name: "leaky", Version: "1.0.0",
		Files: []scan.File{file("leaky-1.0.0.tgz", tgz)}})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestLeaksRuleFamilies(t *testing.T) {
	l := leaksScanner(t, scan.Reject)
	aws := "AK" + "IA" + randFrom(1, upperB32, 16)
	for _, tc := range []struct {
		name, text string
		rule       string // "" for none
		hold       bool   // the finding holds rather than rejects
		secret     string // what the finding must not show
	}{
		{"aws key id", "aws_access_key_id = " + aws, "aws-access-token", false, aws},
		{"aws key id in js", "const cfg = {accessKeyId: '" + aws + "'};", "aws-access-token", false, aws},
		{"aws placeholder", "aws_access_key_id = AK" + "IAXXXXXXXXXXXXXXXX", "", false, ""},
		{"aws documentation key", "aws_access_key_id: AK" + "IAIOSFODNN7EXAMPLE", "", false, ""},
		{"aws lowercase prose", `msgstr "Näytä asiakirjamallikansio."`, "", false, ""},
		{"gcp service account json", `{"type": "service_account", "project_id": "demo", "private_key_id": "` + randFrom(2, "0123456789abcdef", 40) +
			`", "private_key": "` + pemKey("", `\n`) + `", "client_email": "demo@demo.iam.gserviceaccount.com"}`, "private-key", false, ""},
		{"gcp api key", `const key = "AI` + "za" + randFrom(3, alnum+"-_", 35) + `";`, "gcp-api-key", false, ""},
		{"gcp api key documented", `key: "AI` + "zaSyabcdefghijklmnopqrstuvwxyz1234567" + `"`, "", false, ""},
		{"azure ad client secret", `AZURE_CLIENT_SECRET="` + randFrom(4, alnum, 3) + "8Q~" + randFrom(5, alnum+"_~.-", 34) + `"`, "azure-ad-client-secret", false, ""},
		{"github pat", "GITHUB_TOKEN=gh" + "p_" + randFrom(6, alnum, 36), "github-pat", false, ""},
		{"github pat placeholder", "GITHUB_TOKEN=gh" + "p_" + strings.Repeat("x", 36), "", false, ""},
		{"github fine grained pat", "token: github" + "_pat_" + randFrom(7, alnum+"_", 82), "github-fine-grained-pat", false, ""},
		{"gitlab pat", "private_token = 'gl" + "pat-" + randFrom(8, alnum, 20) + "'", "gitlab-pat", false, ""},
		{"gitlab pat too short", "private_token = 'gl" + "pat-" + randFrom(8, alnum, 12) + "'", "", false, ""},
		{"slack bot token", "SLACK=xo" + "xb-" + randFrom(10, digits, 12) + "-" + randFrom(11, digits, 13) + "-" + randFrom(12, alnum, 24), "slack-bot-token", false, ""},
		{"slack webhook", "url = 'https://hooks.slack" + ".com/services/" + randFrom(13, alnum, 9) + "/" + randFrom(14, alnum, 11) + "/" + randFrom(15, alnum, 24) + "'", "slack-webhook-url", false, ""},
		{"stripe live key", "stripe.api_key = 'sk" + "_live_" + randFrom(16, alnum, 24) + "'", "stripe-access-token", false, ""},
		{"stripe key too short", "stripe.api_key = 'sk" + "_live_" + "123'", "", false, ""},
		{"vault token", `VAULT_TOKEN="hv` + `s.` + randFrom(19, alnum, 95) + `"`, "vault-service-token", false, ""},
		{"vault legacy token", `VAULT_TOKEN="s` + `.` + randFrom(20, alnum, 24) + `"`, "vault-service-token", false, ""},
		{"vault legacy token inside a word", `x = rows` + `.` + randFrom(20, alnum, 24) + `;`, "", false, ""},
		{"context rule", `ADAFRUIT_IO_KEY = "` + randFrom(21, "abcdefghijklmnopqrstuvwxyz0123456789", 32) + `"`, "adafruit-api-key", true, ""},
		{"curl with a password", "curl -u admin:" + randFrom(22, alnum, 16) + " https://ci.example/api", "curl-auth-user", true, ""},
		{"curl with a placeholder password", "curl -u admin:password https://ci.example/api", "", false, ""},
		{"pem private key", pemKey("RSA ", "\n"), "private-key", true, ""},
		{"pem public key", strings.ReplaceAll(pemKey("", "\n"), "PRIVATE", "PUBLIC"), "", false, ""},
		{"pem key elided", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n", "", false, ""},
		// As in dotenv's README and twilio's type declarations: shapes of keys, not keys.
		{"pem key elided in the middle", "PRIVATE_KEY=\"-----BEGIN RSA PRIVATE KEY-----\n...\nKh9NV...\n...\n-----END RSA PRIVATE KEY-----\"\n", "", false, ""},
		{"pem key truncated in a comment", "/** For example, `-----BEGIN RSA PRIVATE KEY----- MIIEpQIBAAKCAQEAuyf/lNrH9ck8DmNyo3fGgvCI1l9s+cmBY3WIz+cUDqmxiieR. -----END RSA PRIVATE KEY-----` */\n", "", false, ""},
		{"pkcs8 key", pemKey("", "\n"), "private-key", true, ""},
		{"npm token", "//registry.example/:_authToken=np" + "m_" + randFrom(17, alnum, 36), "npm-access-token", false, ""},
		{"npm token placeholder", "//registry.example/:_authToken=np" + "m_" + strings.Repeat("a", 36), "", false, ""},
		{"pypi token", "password = py" + "pi-AgEIcHlwaS5vcmc" + randFrom(18, alnum+"-_", 120), "pypi-upload-token", false, ""},
		{"pypi token prefix only", "password = py" + "pi-AgEIcHlwaS5vcmc" + "<token>", "", false, ""},
		{"ordinary code", lines(40, "function key(k) { return this.s.auth[k] || process.env.API_KEY; }"), "", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := scanText(t, l, "package/lib/config.js", lines(5, tc.text))
			if tc.rule == "" {
				if len(fs) != 0 {
					t.Fatalf("findings in a near miss: %+v", fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("want 1 finding of %s, got %+v", tc.rule, fs)
			}
			f := fs[0]
			want := scan.Reject
			if tc.hold {
				want = scan.Hold
			}
			if f.Rule != tc.rule || f.File != "package/lib/config.js" || f.Line != 5 || f.Verdict != want {
				t.Errorf("finding %+v, want rule %s at package/lib/config.js:5, %v", f, tc.rule, want)
			}
			if tc.secret != "" && strings.Contains(f.Message, tc.secret[4:]) {
				t.Errorf("message shows the secret: %s", f.Message)
			}
			if !strings.Contains(f.Message, tc.rule) || !strings.Contains(f.Message, "remove it") {
				t.Errorf("message does not name the rule or say what to do: %s", f.Message)
			}
		})
	}
}

func TestLeaksMessage(t *testing.T) {
	aws := "AK" + "IA" + randFrom(1, upperB32, 16)
	fs := scanText(t, leaksScanner(t, scan.Hold), "package/.env", "# settings\n\nAWS_ACCESS_KEY_ID="+aws+"\n")
	want := `an AWS access key ID (gitleaks rule aws-access-token: "AKIA"..., 20 characters); ` +
		"credentials do not belong in packages: remove it and revoke it with its issuer"
	if len(fs) != 1 || fs[0].Message != want || fs[0].Line != 3 || fs[0].Verdict != scan.Hold {
		t.Fatalf("got %+v\nwant line 3, hold, %s", fs, want)
	}
}

func TestLeaksPathsAllowed(t *testing.T) {
	l := leaksScanner(t, scan.Reject)
	text := "key = " + "gh" + "p_" + randFrom(6, alnum, 36) + "\n"
	for _, name := range []string{"package/node_modules/dep/index.js", "package/package-lock.json", "package/img/logo.png",
		"package/node_modules/@octokit/auth-token/README.md"} {
		if fs := scanText(t, l, name, text); len(fs) != 0 {
			t.Errorf("%s: findings in a file gitleaks' allowlist skips: %+v", name, fs)
		}
	}
	if fs := scanText(t, l, "package/docs/README.md", text); len(fs) != 1 {
		t.Errorf("README.md: want 1 finding, got %+v", fs)
	}
}

// TestLeaksAcrossPieces puts keys at every position around the boundaries
// of the 64 KiB pieces: each is found once, on its line.
func TestLeaksAcrossPieces(t *testing.T) {
	l := leaksScanner(t, scan.Reject)
	key := "gh" + "p_" + randFrom(6, alnum, 36)
	pem := pemKey("EC ", "\n")
	for _, at := range []int{0, 1, chunk - 300, chunk - 20, chunk - 3, chunk, chunk + 5, back + chunk - 10, 2*chunk - 700, 2*chunk + back + 3} {
		for _, secret := range []string{key, pem} {
			filler := strings.Repeat("x", 79) + "\n"
			var b strings.Builder
			for b.Len()+80 <= at {
				b.WriteString(filler)
			}
			b.WriteString(strings.Repeat("y", at-b.Len()))
			line := strings.Count(b.String(), "\n") + 1
			b.WriteString(" " + secret + "\n")
			b.WriteString(strings.Repeat(filler, 3000))
			fs := scanText(t, l, "package/a.js", b.String())
			if len(fs) != 1 || fs[0].Line != line {
				t.Errorf("secret at byte %d (line %d): got %+v", at, line, fs)
			}
		}
	}
}

func TestLeaksBinaryByOffset(t *testing.T) {
	l := leaksScanner(t, scan.Reject)
	text := "\x00\x01ELF" + strings.Repeat("\x00", 100) + "gh" + "p_" + randFrom(6, alnum, 36) + "\x00"
	fs := scanText(t, l, "package/build/addon.node", text)
	if len(fs) != 1 || fs[0].Line != 0 || !strings.Contains(fs[0].Message, "at byte 105 of this binary file") {
		t.Fatalf("got %+v", fs)
	}
}

func TestLeaksMaxFindings(t *testing.T) {
	var b strings.Builder
	for i := range MaxFindings + 5 {
		fmt.Fprintf(&b, "k%d = %s\n", i, "gh"+"p_"+randFrom(uint64(100+i), alnum, 36))
	}
	fs := scanText(t, leaksScanner(t, scan.Reject), "package/a.js", b.String())
	if len(fs) != MaxFindings+1 || !strings.Contains(fs[MaxFindings].Message, "and 5 more places") || fs[MaxFindings].Verdict != scan.Reject {
		t.Fatalf("got %d findings, last %+v", len(fs), fs[len(fs)-1])
	}
	// In a test file they all hold, the count too.
	fs = scanText(t, leaksScanner(t, scan.Reject), "package/test/a.js", b.String())
	if len(fs) != MaxFindings+1 || fs[MaxFindings].Verdict != scan.Hold {
		t.Fatalf("in a test file: got %d findings, last %+v", len(fs), fs[len(fs)-1])
	}
}

func TestLeaksRulesLoad(t *testing.T) {
	rs, err := loadRules()
	if err != nil {
		t.Fatal(err)
	}
	ids := make(map[string]bool)
	for _, r := range rs.rules {
		ids[r.id] = true
	}
	for id := range excluded {
		if ids[id] {
			t.Errorf("excluded rule %s is loaded", id)
		}
	}
	for id := range names {
		if !ids[id] {
			t.Errorf("named rule %s is not in the rule set", id)
		}
	}
	heuristic := 0
	for _, r := range rs.rules {
		if r.heuristic {
			heuristic++
		}
	}
	if heuristic < 90 || heuristic > 110 {
		t.Errorf("%d context rules, want about 100 (gitleaks' semi-generic ones and a few more)", heuristic)
	}
	if len(rs.rules) < 200 {
		t.Errorf("only %d rules", len(rs.rules))
	}
	if _, err := NewLeaks(scan.Publish); err == nil {
		t.Error("NewLeaks(Publish) did not fail")
	}
}

func TestParseRulesRejectsUnknownSettings(t *testing.T) {
	for _, text := range []string{
		"[[rules]]\nid = \"x\"\nregex = 'a'\nkeywords = [\"a\"]\nrequiredRules = []\n",
		"[[rules]]\nid = \"x\"\nregex = '('\nkeywords = [\"a\"]\n",
		"[[rules]]\nid = \"x\"\npath = 'a'\n",
		"[[rules]]\nid = \"x\"\nregex = 'a'\nkeywords = [\"a\"]\n[[rules.allowlists]]\ncondition = \"XOR\"\n",
	} {
		if _, err := parseRules(text); err == nil {
			t.Errorf("parseRules accepted %q", text)
		}
	}
}

func TestKeywordIndex(t *testing.T) {
	k := newKeywordIndex(map[string][]int{"he": {0}, "she": {1}, "his": {2}, "hers": {3}, "s.": {4}})
	var got []string
	k.find([]byte("uSHErs his s.x is.y"), func(start int, rules []int) { got = append(got, fmt.Sprint(start, rules)) })
	want := "[1 [1] 2 [0] 2 [3] 7 [2] 11 [4] 16 [4]]"
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestLeaksFixtures: in tests, fixtures and examples credentials hold
// rather than reject, and private keys are not findings.
func TestLeaksFixtures(t *testing.T) {
	l := leaksScanner(t, scan.Reject)
	tok := "gh" + "p_" + randFrom(6, alnum, 36)
	for _, name := range []string{"package/test/auth.js", "package/lib/auth_test.go", "package/__tests__/a.js",
		"package/tests/test_data/conf.py", "package/examples/deploy.sh", "package/testdata/x.txt", "package/lib/auth.spec.js"} {
		fs := scanText(t, l, name, "token = "+tok+"\n")
		if len(fs) != 1 || fs[0].Verdict != scan.Hold || !strings.Contains(fs[0].Message, "in a test file: held for review") {
			t.Errorf("%s: got %+v, want one held finding", name, fs)
		}
		if fs := scanText(t, l, name, pemKey("RSA ", "\n")); len(fs) != 0 {
			t.Errorf("%s: private key in a test file is a finding: %+v", name, fs)
		}
	}
	for _, name := range []string{"package/lib/contest.js", "package/latest/a.js", "package/lib/attestation.py", "package/specifications/a.js"} {
		if fixturePath.MatchString(name) {
			t.Errorf("%s is taken for a test file", name)
		}
		if fs := scanText(t, l, name, "token = "+tok+"\n"); len(fs) != 1 || fs[0].Verdict != scan.Reject {
			t.Errorf("%s: got %+v, want one rejecting finding", name, fs)
		}
	}
	// A service account's key file rejects wherever it is.
	fs := scanText(t, l, "package/lib/sa.json", `{"type": "service_account", "private_key": "`+pemKey("", `\n`)+`"}`)
	if len(fs) != 1 || fs[0].Verdict != scan.Reject || !strings.HasPrefix(fs[0].Message, "the private key of a cloud service account (") {
		t.Errorf("service account key: got %+v", fs)
	}
}

// TestLeaksBudget: text made of keywords makes the regexps slow; past the
// scan's time budget the rest is not checked and the upload is held.
func TestLeaksBudget(t *testing.T) {
	l := leaksScanner(t, scan.Reject)
	l.budget, l.perMiB = 20*time.Millisecond, time.Millisecond
	start := time.Now()
	fs := scanText(t, l, "package/a.js", strings.Repeat("sk_live_ curl -----BEGIN ", 200_000))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the scan took %v", d)
	}
	if len(fs) != 1 || fs[0].Rule != "credentials-budget" || fs[0].Verdict != scan.Hold {
		t.Fatalf("got %+v", fs)
	}
	// Ordinary code is far within the budget.
	if fs := scanText(t, leaksScanner(t, scan.Reject), "package/b.js", lines(50000, "")); len(fs) != 0 {
		t.Errorf("ordinary code: %+v", fs)
	}
}

// TestWordStarts: the rules whose keywords count only at a word start
// are those whose matches begin, after \b, with a keyword.
func TestWordStarts(t *testing.T) {
	rs, err := loadRules()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]bool)
	for _, r := range rs.rules {
		got[r.id] = r.wordStart
	}
	for id, want := range map[string]bool{
		"vault-service-token": true, "aws-access-token": true, "authress-service-client-access-key": true,
		"square-access-token": true, "stripe-access-token": true, "gcp-api-key": true, "1password-secret-key": true,
		"airtable-personnal-access-token": false, // \b(pat…, keyword airtable
		"github-pat":                      false, // no \b
		"private-key":                     false,
		"adafruit-api-key":                false,
		"facebook-page-access-token":      false, // \bEAA[MC]: the keywords are longer than the literal
	} {
		if got[id] != want {
			t.Errorf("%s: wordStart = %v, want %v", id, got[id], want)
		}
	}
}
