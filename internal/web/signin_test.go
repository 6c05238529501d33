package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

// codeFactor is a second factor for tests: users named in need must
// pass it by posting code=123456.
type codeFactor struct{ need map[string]bool }

func (f codeFactor) Required(_ context.Context, u *trove.User) (bool, error) {
	return f.need[u.Name], nil
}

func (f codeFactor) Serve(w http.ResponseWriter, r *http.Request, v *Visit) (trove.AuthLevel, error) {
	if r.Method == http.MethodPost {
		if err := readForm(w, r); err != nil {
			return trove.AuthNone, err
		}
		if r.PostForm.Get("code") == "123456" {
			return trove.AuthMFA, nil
		}
	}
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte("enter your code"))
	return trove.AuthNone, nil
}

func TestSignInSecondFactor(t *testing.T) {
	s := newSite(t, func(o *Options) { o.Factors = codeFactor{need: map[string]bool{"alice": true}} })
	b := s.browser()
	loc := b.signIn("alice", alicePassword)
	if loc != "/-/signin/factor?next=%2F-%2Faccount" {
		t.Fatalf("sign-in with a factor went to %q", loc)
	}
	// Pending: every page but the factor step leads back to it.
	for _, p := range []string{"/-/account", "/-/account/tokens", "/-/admin/users"} {
		resp, _ := b.get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/-/signin/factor") {
			t.Errorf("%s while pending: %d %s", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, _ := b.post("/-/account/tokens", url.Values{"description": {"x"}, "packages": {"*"}, "actions": {"read"}, "days": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("token create while pending: %d", resp.StatusCode)
	}
	if _, home := b.get("/"); strings.Contains(home, "Sign out") {
		t.Error("a pending session shows as signed in")
	}
	if resp, _ := b.post(loc, url.Values{"code": {"000000"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong code: %d", resp.StatusCode)
	}
	resp, _ := b.post(loc, url.Values{"code": {"123456"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/-/account" {
		t.Fatalf("right code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	list, _ := s.ses.List(context.Background(), s.alice.ID)
	if len(list) != 1 || list[0].Pending || list[0].Level != trove.AuthMFA {
		t.Fatalf("session after the factor: %+v", list)
	}
	if resp, _ := b.get("/-/account"); resp.StatusCode != 200 {
		t.Errorf("account after the factor: %d", resp.StatusCode)
	}
	// A live session does not go back to the factor step; a user without
	// factors never sees it.
	if resp, _ := b.get("/-/signin/factor"); resp.Header.Get("Location") != "/-/account" {
		t.Errorf("factor step of a live session: %s", resp.Header.Get("Location"))
	}
	if loc := s.browser().signIn("root", rootPassword); loc != "/-/account" {
		t.Errorf("sign-in without factors went to %q", loc)
	}
}

func TestSignInThrottledPage(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	var resp *http.Response
	var page string
	for range 12 {
		resp, page = b.post("/-/signin", url.Values{"name": {"alice"}, "password": {"wrong guess"}})
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(page, "try again in") {
		t.Fatalf("throttled sign-in: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Error("a throttled sign-in set a cookie")
	}
}

func TestSignInNextIsLocal(t *testing.T) {
	s := newSite(t)
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
		resp, _ := s.browser().post("/-/signin", url.Values{"name": {"alice"}, "password": {alicePassword}, "next": {next}})
		if loc := resp.Header.Get("Location"); loc != "/-/account" {
			t.Errorf("next=%q redirected to %q", next, loc)
		}
	}
}
