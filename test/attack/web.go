package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The web interface's scenarios: its forms (sign-in, the second step,
// sign-up, password reset, every other POST) and its pages (package
// pages with a README, search) under the same kinds of abuse as the
// client protocols.

// webClient returns a client from src that does not follow redirects:
// the answers of the forms are what the scenarios count.
func webClient(src string) *http.Client {
	c := clientFrom(src, false)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// A webAnswer is what a form's post got back.
type webAnswer struct {
	code       int
	retryAfter string
	location   string
	cookie     string // the session cookie set, if any
	body       []byte
	took       time.Duration
}

// postForm posts a URL-encoded form, with the session cookie if not "",
// as a browser on this site would (Sec-Fetch-Site: same-origin).
func postForm(c *http.Client, url string, form url.Values, cookie string) webAnswer {
	start := time.Now()
	req, err := http.NewRequest("POST", url, strings.NewReader(form.Encode()))
	if err != nil {
		return webAnswer{}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		req.Header.Set("Cookie", "trove="+cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		a := webAnswer{took: time.Since(start)}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			a.code = -1
		}
		return a
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := webAnswer{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), location: resp.Header.Get("Location"), body: b, took: time.Since(start)}
	for _, ck := range resp.Cookies() {
		if ck.Name == "trove" && ck.MaxAge >= 0 {
			a.cookie = ck.Value
		}
	}
	return a
}

// webSignIn signs in through the form and returns the answer (303 and a
// cookie when the password was right).
func (h *harness) webSignIn(src, name, pw string) webAnswer {
	return postForm(webClient(src), h.srv.url+"/-/signin", url.Values{"name": {name}, "password": {pw}, "next": {"/-/account"}}, "")
}

// tally counts answers and their latencies.
type tally struct {
	mu        sync.Mutex
	codes     map[int]int
	lat       []time.Duration
	withRetry int
	refusals  int
}

func newTally() *tally { return &tally{codes: map[int]int{}} }

func (t *tally) add(a webAnswer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.codes[a.code]++
	t.lat = append(t.lat, a.took)
	if a.code == 429 || a.code == 503 {
		t.refusals++
		if a.retryAfter != "" {
			t.withRetry++
		}
	}
}

func (t *tally) sorted() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := append([]time.Duration(nil), t.lat...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l
}

func (t *tally) row(label string) string {
	l := t.sorted()
	return fmt.Sprintf("| %s | %s | %s | %s | %d of %d |", label, statusCounts(t.codes), ms(pct(l, 50)), ms(pct(l, 99)), t.withRetry, t.refusals)
}

const tallyHeader = "| attack | answers | p50 | p99 | 429/503 with Retry-After |\n|---|---|---|---|---|"

// webSigninScenario: 200 addresses spraying wrong passwords at the
// sign-in form for 15 s, one more hammering alice's name; then alice, from
// an address that never failed, signs in.
func webSigninScenario(h *harness) error {
	const n = 200
	dur := 15 * time.Second
	idle := h.srv.rss()
	sm := h.srv.sample()
	stop := make(chan struct{})
	probes := h.readProbes()
	pwg := runProbes(stop, 50*time.Millisecond, probes...)
	spray, hammer := newTally(), newTally()
	end := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := range n + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src, t := fmt.Sprintf("127.7.%d.%d", i/200, i%200+1), spray
			if i == n {
				src, t = "127.7.250.1", hammer
			}
			for k := 0; time.Now().Before(end); k++ {
				name := fmt.Sprintf("spray%d-%d", i, k)
				if i == n {
					name = "alice"
				}
				a := h.webSignIn(src, name, "wrong password "+fmt.Sprint(k))
				t.add(a)
				if a.code == 429 || a.code == 503 {
					time.Sleep(time.Second)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
	peak, _ := sm.done()
	owner := h.webSignIn("127.7.251.1", "alice", password)
	fmt.Printf("## Web sign-in form: %d addresses spraying wrong passwords, one hammering a name, for %s\n\n", n, dur)
	fmt.Println("Each sprayed sign-in names a new unknown user, so each one not refused costs a full argon2id hash; the hammering address guesses alice's password.")
	fmt.Println()
	fmt.Println(tallyHeader)
	fmt.Println(spray.row(fmt.Sprintf("%d addresses, a new name each time", n)))
	fmt.Println(hammer.row("one address, alice's name"))
	fmt.Println()
	fmt.Printf("Then alice, right password, from an address that never failed: %d to %s (a session cookie: %v). Server RSS %s idle, %s peak.\n\n",
		owner.code, owner.location, owner.cookie != "", mb(idle), mb(peak))
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
	return nil
}

// outbox returns the outbox's messages as kind → recipient → count.
func (h *harness) outbox() (map[string]map[string]int, int, error) {
	out, err := h.srv.cli("", "admin", "mail", "list", "--limit", "1000000")
	if err != nil {
		return nil, 0, fmt.Errorf("admin mail list: %v\n%s", err, out)
	}
	m := map[string]map[string]int{}
	rows := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] == "ID" {
			continue
		}
		if m[f[2]] == nil {
			m[f[2]] = map[string]int{}
		}
		m[f[2]][f[3]]++
		rows++
	}
	return m, rows, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

var totpSecret = regexp.MustCompile(`(?m)^secret: (\S+)$`)
var recoveryCode = regexp.MustCompile(`(?m)^recovery code: (\S+)$`)

// webFactorScenario: alice has TOTP; someone with her password guesses
// codes at the second step, 40 at once from 40 addresses, twice.
func webFactorScenario(h *harness) error {
	out, err := h.srv.cli("", "account", "totp", "enroll", "--user", "alice")
	if err != nil {
		return fmt.Errorf("enrolling alice's TOTP: %v\n%s", err, out)
	}
	sm := totpSecret.FindStringSubmatch(out)
	rc := recoveryCode.FindStringSubmatch(out)
	if sm == nil || rc == nil {
		return fmt.Errorf("no secret or recovery code in:\n%s", out)
	}
	secret, recovery := sm[1], rc[1]
	code := func(at time.Time) string {
		c, _ := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		return c
	}
	time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(31 * time.Second))) // the enrolment's step is spent
	pw := h.webSignIn("127.8.0.1", "alice", password)
	if pw.code != 303 || !strings.HasPrefix(pw.location, "/-/signin/factor") || pw.cookie == "" {
		return fmt.Errorf("alice's password step: %d %s", pw.code, pw.location)
	}
	wrong := func(k int) string {
		now := time.Now()
		for {
			c := fmt.Sprintf("%06d", (k*7919+104729)%1000000)
			if c != code(now) && c != code(now.Add(-30*time.Second)) && c != code(now.Add(30*time.Second)) {
				return c
			}
			k++
		}
	}
	round := func(base int) *tally {
		t := newTally()
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := webClient(fmt.Sprintf("127.8.%d.%d", base, i+1))
				<-start
				t.add(postForm(c, h.srv.url+"/-/signin/factor?next=/-/account", url.Values{"code": {wrong(base*100 + i)}}, pw.cookie))
			}()
		}
		close(start)
		wg.Wait()
		return t
	}
	first := round(1)
	mails1, _, err := h.outbox()
	if err != nil {
		return err
	}
	second := round(2)
	mails2, _, err := h.outbox()
	if err != nil {
		return err
	}
	right := postForm(webClient("127.8.9.1"), h.srv.url+"/-/signin/factor?next=/-/account", url.Values{"code": {code(time.Now())}}, pw.cookie)
	rec := postForm(webClient("127.8.9.2"), h.srv.url+"/-/signin/factor?next=/-/account", url.Values{"code": {recovery}}, pw.cookie)
	if out, err := h.srv.cli("", "admin", "user", "unlock", "alice"); err != nil {
		return fmt.Errorf("unlock: %v\n%s", err, out)
	}
	after := postForm(webClient("127.8.9.3"), h.srv.url+"/-/signin/factor?next=/-/account", url.Values{"code": {code(time.Now())}}, pw.cookie)

	fmt.Printf("## Second-factor guessing: alice's password is known; 40 wrong codes at once from 40 addresses, twice\n\n")
	fmt.Printf("The budget is %d wrong codes per user and %d per address per 15 minutes, reserved before a code is checked.\n\n", 5, 20)
	fmt.Println(tallyHeader)
	fmt.Println(first.row("round 1: 40 wrong TOTP codes"))
	fmt.Println(second.row("round 2: 40 more"))
	fmt.Println()
	fmt.Printf("Lockout mails to alice in the outbox: %d after round 1, %d after round 2.\n\n", mails1["lockout"]["alice@example.test"], mails2["lockout"]["alice@example.test"])
	fmt.Println("| then, on the same pending session | answer |")
	fmt.Println("|---|---|")
	fmt.Printf("| the right TOTP code, from a clean address | %d (Retry-After %s s) |\n", right.code, right.retryAfter)
	fmt.Printf("| a right recovery code, from a clean address | %d (Retry-After %s s) |\n", rec.code, rec.retryAfter)
	fmt.Printf("| the right TOTP code after `trove admin user unlock alice` | %d to %s |\n\n", after.code, after.location)
	return nil
}
