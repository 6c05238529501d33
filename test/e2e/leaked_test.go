//go:build e2e

package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// TestLeakedTokensAgainstServer: a running server with a secret scanner's
// key configured revokes a token reported in the partner format (signed
// over the raw body), mails its owner where it was found, and answers a
// report signed with another key 400; `trove token revoke --leaked
// --server` revokes another token through the API with the secret as its
// proof. npm, which held the tokens, is refused afterwards.
func TestLeakedTokensAgainstServer(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "scanner.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "trove.toml")
	if err := os.WriteFile(cfg, []byte("[secret_scanning]\nkeys = { \"scanner-1\" = \""+pemFile+"\" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	smtp := mailtest.Start(t)
	tr := startTrove(t, "TROVE_CONFIG="+cfg, "TROVE_MAIL_HOST=127.0.0.1", "TROVE_MAIL_PORT="+strconv.Itoa(smtp.Port), "TROVE_MAIL_TLS=none",
		"TROVE_MAIL_FROM=Trove <trove@localhost>")
	leaked := alice(t, tr)
	other := tr.Token(t, "alice", "*", "read,publish")
	newNPM(t, tr, leaked).must(writePackage(t, libFiles("1.0.0")), "whoami")

	report := func(signer *ecdsa.PrivateKey, token string) int {
		t.Helper()
		body, _ := json.Marshal([]map[string]string{{"token": token, "type": "trove_api_token",
			"url": "https://code.example.test/acme/demo/blob/main/.npmrc", "source": "content"}})
		sum := sha256.Sum256(body)
		sig, err := ecdsa.SignASN1(rand.Reader, signer, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", tr.URL+"/api/v1/secret-scanning/github", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Github-Public-Key-Identifier", "scanner-1")
		req.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	forger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if code := report(forger, leaked); code != http.StatusBadRequest {
		t.Errorf("a report signed with another key answered %d, want 400", code)
	}
	newNPM(t, tr, leaked).must(writePackage(t, libFiles("1.0.0")), "whoami") // still alive
	if code := report(key, leaked); code != http.StatusNoContent {
		t.Fatalf("a signed report answered %d, want 204", code)
	}
	wantOutput(t, "npm whoami with the reported token", newNPM(t, tr, leaked).mustFail(writePackage(t, libFiles("1.0.0")), "whoami"), "401")

	// The owner is mailed where it was found.
	deadline := time.Now().Add(30 * time.Second)
	for {
		found := false
		for _, m := range smtp.Messages() {
			found = found || m.To[0] == "alice@example.test" && strings.Contains(m.Body, "https://code.example.test/acme/demo/blob/main/.npmrc")
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to alice naming where the token was found within 30s; got %+v", smtp.Messages())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Anyone holding a secret reports it through the API.
	out := must(t, "", nil, troveBin, "token", "revoke", "--leaked", other, "--server", tr.URL, "--found-at", "https://paste.example.test/x")
	wantOutput(t, "trove token revoke --leaked --server", strings.ToLower(out), "revoked")
	wantOutput(t, "npm whoami with the second token", newNPM(t, tr, other).mustFail(writePackage(t, libFiles("1.0.0")), "whoami"), "401")
	if n := strings.Count(tr.trove(t, "", "token", "list", "--user", "alice"), "revoked"); n != 2 {
		t.Errorf("trove token list shows %d revoked tokens, want the 2 reported", n)
	}
}
