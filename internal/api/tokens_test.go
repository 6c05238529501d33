package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/leak"
	"github.com/trove-dev/trove/internal/mail"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
)

// leakEnv is a Trove with the API, a secret scanner's key, and revocation
// notices going to the mail outbox as trove serve wires them.
type leakEnv struct {
	*servertest.Env
	key *ecdsa.PrivateKey
}

func newLeakEnv(t *testing.T) *leakEnv {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := leak.NewKeys(map[string]string{"scanner-1": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &leakEnv{Env: servertest.New(t, servertest.Options{}), key: k}
	notes := account.NewNotifications(e.DB, mail.NewOutbox(e.DB, nil), "https://trove.example", nil)
	e.Tokens.OnRevoke(func(ctx context.Context, tx *meta.Tx, rv access.Revoked) error {
		kind := account.EventTokenRevoked
		if rv.Reason == access.RevokedLeaked {
			kind = account.EventTokenLeaked
		}
		return notes.NotifyTx(ctx, tx, account.Event{Kind: kind, UserID: rv.UserID, Detail: rv.Detail(), Client: rv.Client})
	})
	e.Start(t, func(string) []server.Mount {
		return []server.Mount{{Prefix: "/api", Ecosystem: "api", Adapter: api.New(api.Options{Registry: e.Registry, Tokens: e.Tokens, Leaks: keys})}}
	})
	return e
}

func (e *leakEnv) report(t *testing.T, body []byte, sign bool) servertest.Response {
	t.Helper()
	req := servertest.Request(t, http.MethodPost, e.URL+"/api/v1/secret-scanning/github", bytes.NewReader(body), "Content-Type", "application/json")
	if sign {
		h := sha256.Sum256(body)
		sig, err := ecdsa.SignASN1(rand.Reader, e.key, h[:])
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(leak.KeyIDHeader, "scanner-1")
		req.Header.Set(leak.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
	}
	return servertest.Do(t, req)
}

// mails returns the outbox's messages of a kind.
func (e *leakEnv) mails(t *testing.T, kind string) []*meta.OutboxMail {
	t.Helper()
	all, err := e.DB.Outbox(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []*meta.OutboxMail
	for _, m := range all {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// TestSecretScanningReport: a signed report revokes the live Trove tokens
// it holds and mails their owners where each was found; other tokens,
// unknown ones and other partners' secrets change nothing, and the answer
// is the same 204 whatever the report held. Unsigned or badly signed
// reports change nothing.
func TestSecretScanningReport(t *testing.T) {
	ctx := context.Background()
	e := newLeakEnv(t)
	alice := e.User(t, "alice", false)
	leaked, kept := e.Token(t, alice, nil), e.Token(t, alice, nil)
	findings := []leak.Finding{
		{Token: leaked, Type: "trove_api_token", URL: "https://code.example/acme/app/blob/abc/.npmrc", Source: "content"},
		{Token: access.NewToken(), Type: "trove_api_token", Source: "commit"}, // well-formed, unknown
		{Token: "ghp_notours", Type: "other_partner"},
	}
	body, _ := json.Marshal(findings)

	// Without a signature, with a wrong one, or over other bytes: refused.
	if r := e.report(t, body, false); r.StatusCode != http.StatusNotFound {
		t.Errorf("unsigned report = %s %s, want 404", r.Status, r.Text)
	}
	good := e.report(t, []byte(`[]`), true)
	req := servertest.Request(t, http.MethodPost, e.URL+"/api/v1/secret-scanning/github", bytes.NewReader(body),
		leak.KeyIDHeader, "scanner-1", leak.SignatureHeader, "MEUCIQDk")
	if r := servertest.Do(t, req); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text, "does not verify") {
		t.Errorf("badly signed report = %s %s, want 400", r.Status, r.Text)
	}
	if good.StatusCode != http.StatusNoContent {
		t.Errorf("signed empty report = %s, want 204", good.Status)
	}
	if _, err := e.Tokens.Authenticate(ctx, leaked); err != nil {
		t.Fatalf("a refused report revoked the token: %v", err)
	}

	r := e.report(t, body, true)
	if r.StatusCode != http.StatusNoContent || r.Text != "" {
		t.Fatalf("signed report = %s %q, want 204 and no body", r.Status, r.Text)
	}
	if _, err := e.Tokens.Authenticate(ctx, leaked); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("reported token still works: %v", err)
	}
	if _, err := e.Tokens.Authenticate(ctx, kept); err != nil {
		t.Errorf("another token of the owner was revoked: %v", err)
	}
	ms := e.mails(t, "token-leaked")
	if len(ms) != 1 || ms[0].Recipient != "alice@example.test" || !strings.Contains(ms[0].Body, "found exposed at https://code.example/acme/app/blob/abc/.npmrc (source: content)") ||
		!strings.Contains(ms[0].Body, "Remove it from where it was found") || strings.Contains(ms[0].Body, leaked) {
		t.Fatalf("leak mails = %+v, want one to alice saying where, without the secret", ms)
	}
	// Reported again: already revoked, same answer, no second mail.
	if r := e.report(t, body, true); r.StatusCode != http.StatusNoContent {
		t.Errorf("second report = %s", r.Status)
	}
	if n := len(e.mails(t, "token-leaked")); n != 1 {
		t.Errorf("%d leak mails after a second report, want 1", n)
	}
	// Too many findings: refused before anything is revoked.
	many := "[" + strings.Repeat(`{"token":"`+kept+`"},`, leak.MaxFindings) + `{"token":"x"}]`
	if r := e.report(t, []byte(many), true); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("report with %d findings = %s, want 413", leak.MaxFindings+1, r.Status)
	}
	if _, err := e.Tokens.Authenticate(ctx, kept); err != nil {
		t.Errorf("a refused report revoked a token: %v", err)
	}
}

// TestReportLeaked: anyone holding a secret reports it without signing
// in; the answer is the same whether or not it was a live token.
func TestReportLeaked(t *testing.T) {
	ctx := context.Background()
	e := newLeakEnv(t)
	alice := e.User(t, "alice", false)
	secret := e.Token(t, alice, nil)
	post := func(body string) servertest.Response {
		return servertest.Do(t, servertest.Request(t, http.MethodPost, e.URL+"/api/v1/tokens/leaked", strings.NewReader(body)))
	}
	unknown := post(`{"token":"` + access.NewToken() + `"}`)
	live := post(`{"token":"` + secret + `","url":"https://paste.example/x\r\nBcc: evil@example.test","source":"paste"}`)
	if unknown.StatusCode != http.StatusAccepted || live.StatusCode != unknown.StatusCode || live.Text != unknown.Text {
		t.Errorf("answers differ: unknown %s %q, live %s %q", unknown.Status, unknown.Text, live.Status, live.Text)
	}
	if _, err := e.Tokens.Authenticate(ctx, secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("reported token still works: %v", err)
	}
	ms := e.mails(t, "token-leaked")
	if len(ms) != 1 || !strings.Contains(ms[0].Body, "https://paste.example/xBcc: evil@example.test (source: paste)") {
		t.Errorf("leak mails = %+v, want one, its place on one line", ms)
	}
	for _, body := range []string{`{"token":"trove_short"}`, `not json`, `{}`} {
		if r := post(body); r.StatusCode != http.StatusBadRequest {
			t.Errorf("report %s = %s, want 400", body, r.Status)
		}
	}
}

// TestRevokeEveryoneAPI: an administrator revokes every token; each user
// with tokens is told once.
func TestRevokeEveryoneAPI(t *testing.T) {
	e := newLeakEnv(t)
	root, alice := e.User(t, "root", true), e.User(t, "alice", false)
	admin := e.Token(t, root, nil)
	e.Token(t, alice, nil)
	e.Token(t, alice, nil)
	del := func(tok string) servertest.Response {
		return servertest.Do(t, servertest.Request(t, http.MethodDelete, e.URL+"/api/v1/admin/tokens", nil, "Authorization", "Bearer "+tok))
	}
	if r := del(e.Token(t, alice, nil)); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Text, "only administrators") {
		t.Errorf("revoke-all by a user = %s %s, want 403", r.Status, r.Text)
	}
	r := del(admin)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, `"revoked":4`) || !strings.Contains(r.Text, `"users":2`) {
		t.Fatalf("revoke-all by an administrator = %s %s, want 4 tokens of 2 users", r.Status, r.Text)
	}
	ms := e.mails(t, "token-revoked")
	if len(ms) != 2 || !strings.Contains(ms[0].Body+ms[1].Body, "3 tokens revoked by an administrator (root), with every token of every user") {
		t.Errorf("revocation mails = %+v", ms)
	}
	if r := del(admin); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the administrator's token after revoking everything = %s, want 401", r.Status)
	}
}
