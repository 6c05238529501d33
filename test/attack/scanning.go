package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The scanning scenario: the upload-scanning pipeline (docs/scanning.md)
// fed uploads crafted to make its scanners work hardest, an ordinary
// publisher meanwhile, report floods and the administrators' queue, the
// public routes the pipeline added (the OSV feed, a release's scan
// summary) under load, and last one upload whose scan outlasts the
// pipeline's inline time.

// A scanKind is a kind of scanner-expensive npm tarball. Each upload's
// tarball is its package.json, gzipped by itself, followed by tail: the
// rest of the tar stream, gzipped once when the scenario starts. A gzip
// file may hold several members, read as one stream (Go's reader, which
// Trove uses, does so), so an upload costs the attacker little.
type scanKind struct {
	label, short string
	tail         []byte
	unpacked     int64 // bytes of the members after package.json
	members      int   // tar entries after package.json
}

// tarball returns the kind's tarball for the package.json m.
func (k *scanKind) tarball(m map[string]any) []byte {
	pj, _ := json.Marshal(m)
	return append(gz(tarOf(false, member{"package/package.json", pj})), k.tail...)
}

// tarHeader returns the tar header of a file of size bytes; its bytes
// and padding are the caller's to add.
func tarHeader(name string, size int64) []byte {
	var b bytes.Buffer
	tar.NewWriter(&b).WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: time.Unix(499162500, 0), Typeflag: tar.TypeReg})
	return b.Bytes()
}

// tarEnd is the end of a tar archive, gzipped: two zero blocks.
var tarEnd = gz(make([]byte, 1024))

const (
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
	digits      = "0123456789"
)

func rnd(rng *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// credentialsKind: 256 files of 16 KiB in which every line holds a
// credential keyword next to a high-entropy value: tokens in their
// providers' formats (each one a finding), assignments only the excluded
// generic rule would flag, and Trove-token look-alikes whose checksums
// are wrong.
func credentialsKind(rng *rand.Rand) scanKind {
	lines := []func() string{
		func() string {
			return "const awsAccessKeyId = \"AKIA" + rnd(rng, 16, upperDigits) + "\"; // aws_secret_access_key\n"
		},
		func() string { return "github_token: ghp_" + rnd(rng, 36, alnum) + "\n" },
		func() string { return "GITLAB_TOKEN=glpat-" + rnd(rng, 20, alnum) + "\n" },
		func() string { return "stripe.apiKey = 'sk_live_" + rnd(rng, 24, alnum) + "';\n" },
		func() string {
			return "SLACK_BOT_TOKEN=xoxb-" + rnd(rng, 12, digits) + "-" + rnd(rng, 12, digits) + "-" + rnd(rng, 24, alnum) + "\n"
		},
		func() string { return "//registry.npmjs.org/:_authToken=npm_" + rnd(rng, 36, lowerDigits) + "\n" },
		func() string { return "\"apiKey\": \"AIza" + rnd(rng, 35, alnum) + "\",\n" },
		func() string { return "password = \"" + rnd(rng, 32, alnum) + "\" # secret api_key token\n" },
		func() string { return "auth = 'trove_" + rnd(rng, 49, alnum) + "'\n" },
		func() string { return "client_secret: \"" + rnd(rng, 40, alnum) + "\" # azure tenant\n" },
	}
	k := scanKind{label: "(a) credentials: 256 files of 16 KiB, every line a keyword and a high-entropy value", short: "creds"}
	var files []member
	for i := range 256 {
		var b strings.Builder
		for b.Len() < 16<<10 {
			b.WriteString(lines[rng.IntN(len(lines))]())
		}
		files = append(files, member{fmt.Sprintf("package/lib/config%03d.js", i), []byte(b.String())})
		k.unpacked += int64(b.Len())
	}
	k.tail, k.members = gz(tarOf(true, files...)), len(files)
	return k
}

// obfuscatedJS returns n bytes of one line of obfuscated JavaScript:
// string arrays of \x escapes, _0x identifiers, and decoders (atob) next
// to code runners (eval) that never run what was decoded (decoded values
// get even _0x names, eval odd ones), so that the malware rules weigh
// every pair and find nothing. With period > 0 only the atob and eval
// statements are written, their names taken in turn from period pairs:
// the text repeats, and compresses as well as noise (the share of
// statements preceded by a comment of random letters) lets it.
func obfuscatedJS(rng *rand.Rand, n, period int, noise float64) []byte {
	var b bytes.Buffer
	k := 0
	id := func(odd int) string {
		k++
		if period > 0 {
			return fmt.Sprintf("_0x%04x", 2*(k%period)+odd)
		}
		return fmt.Sprintf("_0x%04x", 2*rng.IntN(1<<15)+odd)
	}
	for b.Len() < n {
		if rng.Float64() < noise {
			fmt.Fprintf(&b, "/*%s*/", rnd(rng, 8, lowerDigits))
		}
		if period == 0 {
			fmt.Fprintf(&b, "var %s=['", id(0))
			for j := range 24 {
				if j%8 == 7 {
					b.WriteString("','")
				}
				fmt.Fprintf(&b, "\\x%02x", rng.IntN(256))
			}
			fmt.Fprintf(&b, "'];function %s(%s,%s){return %s-0x%x;}", id(0), id(0), id(0), id(0), k%4096)
		}
		fmt.Fprintf(&b, "%s=atob(%s);eval(%s);", id(0), id(0), id(1))
	}
	return b.Bytes()[:n]
}

// obfuscatedKind: one minified file of 8 MiB on one line (obfuscatedJS).
func obfuscatedKind(rng *rand.Rand) scanKind {
	js := obfuscatedJS(rng, 8<<20, 0, 0)
	return scanKind{label: "(b) obfuscated: one 8 MiB line of \\x escapes, _0x names, atob and eval", short: "obf",
		tail: gz(tarOf(true, member{"package/dist/app.min.js", js})), unpacked: int64(len(js)), members: 1}
}

// membersKinds: 99,000 small files (with package.json, 99,001 entries,
// under archive.MaxEntries, 100,000), and 1,000 more (100,001, over it).
func membersKinds() (under, over scanKind) {
	files := func(from, n int) ([]member, int64) {
		var ms []member
		var size int64
		for i := from; i < from+n; i++ {
			body := []byte(fmt.Sprintf("module.exports = %d;\n", i))
			ms = append(ms, member{fmt.Sprintf("package/m/%06d.js", i), body})
			size += int64(len(body))
		}
		return ms, size
	}
	ms, size := files(0, 99_000)
	many := gz(tarOf(false, ms...))
	more, moreSize := files(99_000, 1_000)
	under = scanKind{label: "(c) 99,001 entries: 99,000 files of 20 bytes", short: "many",
		tail: append(append([]byte(nil), many...), tarEnd...), unpacked: size, members: 99_000}
	over = scanKind{label: "(c) 100,001 entries: one over archive.MaxEntries", short: "over",
		tail: append(append(append([]byte(nil), many...), gz(tarOf(false, more...))...), tarEnd...), unpacked: size + moreSize, members: 100_000}
	return under, over
}

// bombKind: one file of 1 GiB of zeros, gzipped about 1000:1.
func bombKind() scanKind {
	zeros := gz(make([]byte, 16<<20))
	tail := gz(tarHeader("package/data.bin", 1<<30))
	for range 64 {
		tail = append(tail, zeros...)
	}
	return scanKind{label: "(d) gzip bomb: one file of 1 GiB of zeros", short: "bomb", tail: append(tail, tarEnd...), unpacked: 1 << 30, members: 1}
}

// slowScanKind: one file of size bytes of obfuscatedJS that compresses
// just under archive.MaxRatio (200:1): within every archive limit.
func slowScanKind(rng *rand.Rand, size int) scanKind {
	const sample = 1 << 20
	lo, hi := 0.0, 0.01 // noise: the share of statements preceded by a random comment
	for range 8 {
		mid := (lo + hi) / 2
		js := obfuscatedJS(rand.New(rand.NewPCG(5, 6)), sample, 10, mid)
		if float64(len(js))/float64(len(gz(js))) > 185 {
			lo = mid
		} else {
			hi = mid
		}
	}
	js := obfuscatedJS(rng, size, 10, hi)
	tail := append(gz(append(tarHeader("package/dist/app.min.js", int64(size)), js...)), tarEnd...)
	return scanKind{label: fmt.Sprintf("(e) alone, at the end: one %d MiB line of obfuscated JavaScript, %.0f:1", size>>20, float64(size)/float64(len(tail))),
		short: "slow", tail: tail, unpacked: int64(size), members: 1}
}

// uploadTally counts one kind's answers, and what they said.
type uploadTally struct {
	*tally
	mu      sync.Mutex
	pending int            // 409s saying the release waits for the scanners
	said    map[int]string // the first message of each status
}

func newUploadTally() *uploadTally { return &uploadTally{tally: newTally(), said: map[int]string{}} }

func (t *uploadTally) record(a webAnswer) {
	t.add(a)
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.code == 409 && strings.Contains(string(a.body), "scanners finish checking") {
		t.pending++
	}
	if _, ok := t.said[a.code]; !ok && a.code != 200 && a.code != 201 {
		s := strings.TrimSpace(string(a.body))
		if len(s) > 240 {
			s = s[:240] + "…"
		}
		t.said[a.code] = s
	}
}

// row is | label | answers | of the 409s pending | p50 | p99 | max |.
func (t *uploadTally) row(label string) string {
	l := t.sorted()
	return fmt.Sprintf("| %s | %s | %d | %s | %s | %s |", label, statusCounts(t.codes), t.pending, ms(pct(l, 50)), ms(pct(l, 99)), ms(pct(l, 100)))
}

// upload publishes name@version of kind k with c and returns the answer.
func (h *harness) upload(c *http.Client, token, name, version string, k *scanKind) webAnswer {
	m := pkgMeta(name, version, nil)
	doc := h.publishDoc(m, k.tarball(m))
	t0 := time.Now()
	code, ra, body := do(c, "PUT", h.srv.url+"/npm/"+name, doc, "Authorization", "Bearer "+token, "Content-Type", "application/json")
	return webAnswer{code: code, retryAfter: ra, body: body, took: time.Since(t0)}
}

// A phase measures the server over part of the scenario: its CPU time
// and peak RSS.
type phase struct {
	h     *harness
	start time.Time
	cpu   time.Duration
	sm    *sampler
}

func (h *harness) phase() *phase {
	return &phase{h: h, start: time.Now(), cpu: h.srv.cpu(), sm: h.srv.sample()}
}

// done returns "X s of CPU in Y s, peak RSS Z".
func (p *phase) done() string {
	cpu, took := p.h.srv.cpu()-p.cpu, time.Since(p.start)
	rss, _ := p.sm.done()
	return fmt.Sprintf("server CPU %.1f s in %.1f s (%.2f CPUs), peak RSS %s", cpu.Seconds(), took.Seconds(), cpu.Seconds()/took.Seconds(), mb(rss))
}

func printProbes(probes []*probe) {
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
}

// The accounts of the scenario.
type scanAccounts struct {
	publishers [][]string // by kind, a token per publisher (one user per kind)
	flood      string     // the user filing 100 reports
	reporters  []string   // 50 users' tokens
	admin      string
	created    int // accounts created
}

const scanPublishers = 2 // per kind

// scanAccounts creates the accounts, four trove commands at a time, and
// their tokens, each with npm's login (a token for every package and
// action), from an address of its own. The 50 reporters are 42 new
// users, alice, bob, the publishers' users and the administrator.
func (h *harness) scanAccounts(kinds int) (*scanAccounts, error) {
	a := &scanAccounts{publishers: make([][]string, kinds), reporters: make([]string, 50-3-kinds)}
	var bob string
	type job struct {
		user   string
		admin  bool
		exists bool
		into   []*string
	}
	var jobs []job
	for k := range kinds {
		a.publishers[k] = make([]string, scanPublishers)
		j := job{user: fmt.Sprintf("scanner%d", k)}
		for i := range scanPublishers {
			j.into = append(j.into, &a.publishers[k][i])
		}
		jobs = append(jobs, j)
	}
	jobs = append(jobs, job{user: "flooder", into: []*string{&a.flood}}, job{user: "moderator", admin: true, into: []*string{&a.admin}})
	for i := range a.reporters {
		jobs = append(jobs, job{user: fmt.Sprintf("reporter%02d", i), into: []*string{&a.reporters[i]}})
	}
	jobs = append(jobs, job{user: "bob", exists: true, into: []*string{&bob}})
	a.created = len(jobs) - 1
	work := make(chan job)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	logins := 0
	for range 4 {
		wg.Go(func() {
			for j := range work {
				var flags []string
				if j.admin {
					flags = append(flags, "--admin")
				}
				var err error
				if !j.exists {
					err = h.srv.addUser(j.user, flags...)
				}
				for _, p := range j.into {
					if err == nil {
						mu.Lock()
						logins++
						src := fmt.Sprintf("127.25.%d.%d", logins/200, logins%200+1)
						mu.Unlock()
						*p, err = h.loginToken(src, j.user)
					}
				}
				errs <- err
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, p := range a.publishers {
		a.reporters = append(a.reporters, p[0])
	}
	a.reporters = append(a.reporters, h.tokens["setup"], bob, a.admin)
	return a, nil
}

// loginToken signs user in with npm's login from src and returns the
// token it made, trying again while the password hashing is busy.
func (h *harness) loginToken(src, user string) (string, error) {
	c := clientFrom(src, false)
	for try := 0; ; try++ {
		code, _, body := couchLoginBody(c, h.srv.url, user, password)
		var tok struct {
			Token string `json:"token"`
		}
		switch {
		case code == 201 && json.Unmarshal(body, &tok) == nil && tok.Token != "":
			return tok.Token, nil
		case code == 503 && try < 10:
			time.Sleep(time.Second)
		default:
			return "", fmt.Errorf("npm login of %s: %d %s", user, code, body)
		}
	}
}

// scanningScenario: see the top of this file.
func scanningScenario(h *harness) error {
	begin := time.Now()
	rng := rand.New(rand.NewPCG(7, 8))
	// Set up at once: the payloads, the accounts, and 100 releases of
	// attack-target for the reports (with two tokens, within the publish
	// rate; one package, so the worm guard does not count them).
	var kinds []scanKind
	var slow scanKind
	var accounts *scanAccounts
	var setupErr [2]error
	var wg sync.WaitGroup
	wg.Go(func() {
		under, over := membersKinds()
		kinds = []scanKind{credentialsKind(rng), obfuscatedKind(rng), under, over, bombKind()}
		slow = slowScanKind(rng, 64<<20)
	})
	wg.Go(func() { accounts, setupErr[0] = h.scanAccounts(5) })
	wg.Go(func() {
		for v := range 100 {
			tok := h.tokens[[]string{"pypi", "go"}[v%2]]
			if _, err := h.publish(tok, "attack-target", fmt.Sprintf("1.0.%d", v), nil); err != nil {
				setupErr[1] = err
				return
			}
		}
	})
	wg.Wait()
	for _, err := range setupErr {
		if err != nil {
			return err
		}
	}
	setup := time.Since(begin)

	// 1 and 2: the publishers of each kind, and the measuring client.
	const storm = 20 * time.Second
	idle := h.srv.rss()
	ph := h.phase()
	stop := make(chan struct{})
	var ordinary int
	var omu sync.Mutex
	pub := &probe{name: "publish of a small package (npm PUT), once a second", do: func() bool {
		omu.Lock()
		ordinary++
		v := ordinary
		omu.Unlock()
		_, err := h.publish(h.tokens["npm"], "attack-ordinary", fmt.Sprintf("1.0.%d", v), nil)
		return err == nil
	}}
	reads := h.readProbes()
	pwg := runProbes(stop, time.Second, pub)
	rwg := runProbes(stop, 100*time.Millisecond, reads...)
	tallies := make([]*uploadTally, len(kinds))
	end := time.Now().Add(storm)
	var pubs sync.WaitGroup
	for k := range kinds {
		tallies[k] = newUploadTally()
		for i, token := range accounts.publishers[k] {
			pubs.Go(func() {
				c := clientFrom(fmt.Sprintf("127.20.%d.%d", k, i+1), true)
				c.Timeout = 30 * time.Second
				name := fmt.Sprintf("attack-scan-%s-%d", kinds[k].short, i)
				for v := 0; time.Now().Before(end); v++ {
					a := h.upload(c, token, name, fmt.Sprintf("1.0.%d", v), &kinds[k])
					tallies[k].record(a)
					if a.code == 429 || a.code == 0 {
						time.Sleep(time.Second)
					}
				}
			})
		}
	}
	pubs.Wait()
	close(stop)
	pwg.Wait()
	rwg.Wait()
	stormFigures := ph.done()
	after := h.phase()
	time.Sleep(5 * time.Second)
	afterFigures := after.done()

	fmt.Printf("## Upload scanning under attack: %d publishers of scanner-expensive npm tarballs for %s\n\n", len(kinds)*scanPublishers, storm)
	fmt.Printf("Set up in %s: 100 releases of attack-target, %d accounts and their tokens (npm logins), the payloads. "+
		"Each kind has %d publishers (one user, a token each, its own package, from its own address), each publishing the next version as soon as the last is answered "+
		"(30 s client timeout; a second's pause after a 429). Each tarball is its package.json, gzipped alone, followed by the rest gzipped once (gzip members are read as one stream).\n\n",
		setup.Round(time.Second), accounts.created, scanPublishers)
	fmt.Println("| kind | tarball | unpacked | entries |")
	fmt.Println("|---|---|---|---|")
	for _, k := range append(kinds, slow) {
		fmt.Printf("| %s | %.1f MB | %.1f MB | %d |\n", k.label, float64(len(k.tail))/1e6, float64(k.unpacked)/1e6, k.members+1)
	}
	fmt.Println()
	fmt.Println("| kind | answers | 409 pending a scan | p50 | p99 | max |")
	fmt.Println("|---|---|---|---|---|---|")
	for k := range kinds {
		fmt.Println(tallies[k].row(kinds[k].label))
	}
	fmt.Println()
	fmt.Printf("From the first upload to the last answer: %s (RSS %s idle before). The 5 s after: %s.\n\n", stormFigures, mb(idle), afterFigures)
	fmt.Println("What the refusals and holds said (the first of each status, cut at 240 characters):")
	fmt.Println()
	for k := range kinds {
		for _, code := range slices.Sorted(maps.Keys(tallies[k].said)) {
			fmt.Printf("- %s, %d: `%s`\n", kinds[k].short, code, strings.ReplaceAll(tallies[k].said[code], "`", "'"))
		}
	}
	fmt.Println()
	printProbes(append([]*probe{pub}, reads...))

	h.reportsPhase(accounts)
	h.scanReadsPhase()
	h.slowScanPhase(accounts.publishers[0][0], &slow)
	fmt.Printf("Scenario time: %s.\n\n", time.Since(begin).Round(time.Second))
	return nil
}

// fileReport reports npm attack-target's version.
func (h *harness) fileReport(c *http.Client, token, version string) webAnswer {
	body, _ := json.Marshal(map[string]string{"ecosystem": "npm", "name": "attack-target", "version": version, "category": "malicious",
		"reason": "attack run: the postinstall script sends ~/.npmrc to a remote host"})
	t0 := time.Now()
	code, ra, b := do(c, "POST", h.srv.url+"/api/v1/reports", body, "Authorization", "Bearer "+token, "Content-Type", "application/json")
	return webAnswer{code: code, retryAfter: ra, body: b, took: time.Since(t0)}
}

// reportsPhase: one user files 100 reports at once, then 50 users 3 each
// at once; the administrators' queue; five takedowns as malicious.
func (h *harness) reportsPhase(a *scanAccounts) {
	ph := h.phase()
	flood, many := newTally(), newTally()
	var wg sync.WaitGroup
	c := clientFrom("127.22.0.1", true)
	for v := range 100 {
		wg.Go(func() { flood.add(h.fileReport(c, a.flood, fmt.Sprintf("1.0.%d", v))) })
	}
	wg.Wait()
	for u, token := range a.reporters {
		c := clientFrom(fmt.Sprintf("127.22.1.%d", u+1), true)
		for k := range 3 {
			wg.Go(func() { many.add(h.fileReport(c, token, fmt.Sprintf("1.0.%d", (3*u+k)%100))) })
		}
	}
	wg.Wait()
	admin := clientFrom("127.22.2.1", true)
	t0 := time.Now()
	code, _, body := do(admin, "GET", h.srv.url+"/api/v1/admin/queue", nil, "Authorization", "Bearer "+a.admin)
	took := time.Since(t0)
	var q struct {
		Reports []struct {
			Count int `json:"count"`
		} `json:"reports"`
		Held []struct {
			Reason string `json:"reason"`
		} `json:"held"`
		Quarantined []json.RawMessage `json:"quarantined"`
	}
	json.Unmarshal(body, &q)
	reports, reasons := 0, map[string]int{}
	for _, r := range q.Reports {
		reports += r.Count
	}
	for _, hr := range q.Held {
		reasons[hr.Reason]++
	}
	var held []string
	for _, r := range slices.Sorted(maps.Keys(reasons)) {
		held = append(held, fmt.Sprintf("%d %s", reasons[r], r))
	}
	takedowns := newTally()
	for v := range 5 {
		b, _ := json.Marshal(map[string]any{"action": "remove", "ecosystem": "npm", "name": "attack-target", "version": fmt.Sprintf("1.0.%d", v),
			"reason": "attack run: exfiltrates npm tokens in postinstall", "malicious": true})
		t1 := time.Now()
		code, _, _ := do(admin, "POST", h.srv.url+"/api/v1/admin/queue", b, "Authorization", "Bearer "+a.admin, "Content-Type", "application/json")
		takedowns.add(webAnswer{code: code, took: time.Since(t1)})
	}
	fmt.Printf("## Reports: one user files 100 at once, then 50 users 3 each at once; the queue\n\n")
	fmt.Printf("Reports are limited to 10 an hour per user (`registry.DefaultReportRate`); each names another release of attack-target. " +
		"The 50 users are 42 new ones, alice, bob, the 5 publishers' users and the administrator.\n\n")
	fmt.Println("| attack | answers | p50 | p99 | max | 429 with Retry-After |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range []struct {
		label string
		t     *tally
	}{{"one user, 100 reports at once", flood}, {"50 users, 3 reports each, all at once", many}, {"5 takedowns as malicious (POST /api/v1/admin/queue), one after another", takedowns}} {
		l := r.t.sorted()
		fmt.Printf("| %s | %s | %s | %s | %s | %d of %d |\n", r.label, statusCounts(r.t.codes), ms(pct(l, 50)), ms(pct(l, 99)), ms(pct(l, 100)), r.t.withRetry, r.t.codes[429])
	}
	fmt.Println()
	fmt.Printf("`GET /api/v1/admin/queue` as the administrator (before the takedowns): %d, %d bytes in %s: %d reported targets holding %d reports (`registry.MaxQueued` = 1000 targets listed at most), %d held uploads (%s), %d quarantined.\n\n",
		code, len(body), ms(took), len(q.Reports), reports, len(q.Held), strings.Join(held, ", "), len(q.Quarantined))
	fmt.Printf("Phase: %s.\n\n", ph.done())
}

// scanReadsPhase: 50 clients for 10 s on the OSV feed, a scan summary and
// a package page.
func (h *harness) scanReadsPhase() {
	routes := []string{"/osv/all.zip", "/osv/", "/api/v1/packages/npm/attack-target/1.0.50/scan", "/-/package/npm/attack-target"}
	sizes := make([]int, len(routes))
	for i, r := range routes {
		_, _, b := do(h.local, "GET", h.srv.url+r, nil)
		sizes[i] = len(b)
	}
	ph := h.phase()
	stop := make(chan struct{})
	probes := h.readProbes()
	pwg := runProbes(stop, 100*time.Millisecond, probes...)
	tallies := make([]*tally, len(routes))
	for i := range tallies {
		tallies[i] = newTally()
	}
	end := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			c := clientFrom(fmt.Sprintf("127.23.0.%d", i+1), true)
			for k := i; time.Now().Before(end); k++ {
				r := k % len(routes)
				t0 := time.Now()
				code, _, _ := do(c, "GET", h.srv.url+routes[r], nil)
				tallies[r].add(webAnswer{code: code, took: time.Since(t0)})
			}
		})
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
	fmt.Printf("## Reads: 50 clients for 10 s, each in turn on the OSV feed, a release's scan summary and a package page\n\n")
	fmt.Println("| route | size | answers | p50 | p99 | max |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, r := range routes {
		l := tallies[i].sorted()
		fmt.Printf("| %s | %d B | %s | %s | %s | %s |\n", r, sizes[i], statusCounts(tallies[i].codes), ms(pct(l, 50)), ms(pct(l, 99)), ms(pct(l, 100)))
	}
	fmt.Println()
	fmt.Printf("Phase: %s.\n\n", ph.done())
	printProbes(probes)
}

// slowScanPhase: one upload of slow (within every archive limit) while
// the measuring client publishes and reads; how long its answer takes
// beside the 10 s inline time, and what the server spends.
func (h *harness) slowScanPhase(token string, slow *scanKind) {
	ph := h.phase()
	stop := make(chan struct{})
	n := 1000
	pub := &probe{name: "publish of a small package (npm PUT), once a second", do: func() bool {
		n++
		_, err := h.publish(h.tokens["npm"], "attack-ordinary", fmt.Sprintf("1.0.%d", n), nil)
		return err == nil
	}}
	reads := h.readProbes()
	pwg := runProbes(stop, time.Second, pub)
	rwg := runProbes(stop, 100*time.Millisecond, reads...)
	c := clientFrom("127.24.0.1", false)
	c.Timeout = 30 * time.Second
	a := h.upload(c, token, "attack-scan-slow", "1.0.0", slow)
	during := ph.done()
	close(stop)
	pwg.Wait()
	rwg.Wait()
	msg := strings.TrimSpace(string(a.body))
	if len(msg) > 240 {
		msg = msg[:240] + "…"
	}
	fmt.Printf("## One upload within every archive limit whose scan outlasts the inline time (10 s)\n\n")
	fmt.Printf("The tarball: %s (%.1f MB, %.0f MB unpacked), from one client.\n\n", slow.label, float64(len(slow.tail))/1e6, float64(slow.unpacked)/1e6)
	if a.code == -1 {
		fmt.Printf("Answer: none within the client's %s; it gave up.\n\n", c.Timeout)
	} else {
		fmt.Printf("Answer: %d after %s: `%s`\n\n", a.code, a.took.Round(100*time.Millisecond), strings.ReplaceAll(msg, "`", "'"))
	}
	fmt.Printf("Until the answer: %s.\n\n", during)
	printProbes(append([]*probe{pub}, reads...))
}
