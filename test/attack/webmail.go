package main

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// startDNS answers the email domain checks of password resets: every
// name has an MX and an A record on 127.0.0.1, so every domain is alive.
// It returns the server's address and a function that stops it.
func startDNS() (string, func(), error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return "", nil, err
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			hd, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: hd.ID, Response: true, Authoritative: true})
			b.EnableCompression()
			b.StartQuestions()
			b.Question(q)
			b.StartAnswers()
			rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
			switch q.Type {
			case dnsmessage.TypeMX:
				b.MXResource(rh, dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName("mail." + strings.TrimPrefix(q.Name.String(), "mail."))})
			case dnsmessage.TypeA:
				b.AResource(rh, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
			}
			if out, err := b.Finish(); err == nil {
				c.WriteToUDP(out, from)
			}
		}
	}()
	return c.LocalAddr().String(), func() { c.Close() }, nil
}

// webMailSetup: open sign-up, mail to an SMTP port nobody listens on (so
// every message stays in the outbox, where it is counted), and the DNS
// server above for the resets' domain checks.
func webMailSetup() ([]string, func(), error) {
	dns, stop, err := startDNS()
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return nil, nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return []string{"TROVE_ACCOUNTS_SIGNUP=open", "TROVE_ACCOUNTS_DNS_SERVER=" + dns,
		"TROVE_MAIL_HOST=127.0.0.1", fmt.Sprintf("TROVE_MAIL_PORT=%d", port), "TROVE_MAIL_TLS=none",
		"TROVE_MAIL_FROM=Trove <trove@example.test>"}, stop, nil
}

// webMailScenario: sign-up and password-reset floods from 100 addresses.
func webMailScenario(h *harness) error {
	const n = 100
	dur := 15 * time.Second
	_, rows0, err := h.outbox()
	if err != nil {
		return err
	}
	idle := h.srv.rss()
	sm := h.srv.sample()
	stop := make(chan struct{})
	probes := h.readProbes()
	pwg := runProbes(stop, 50*time.Millisecond, probes...)

	// Sign-ups: even addresses all give victim@example.test, odd ones a
	// new address each time.
	victim, fresh := newTally(), newTally()
	end := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := webClient(fmt.Sprintf("127.10.%d.%d", i/200, i%200+1))
			for k := 0; time.Now().Before(end); k++ {
				email, t := "victim@example.test", victim
				if i%2 == 1 {
					email, t = fmt.Sprintf("flood%d-%d@example.test", i, k), fresh
				}
				a := postForm(c, h.srv.url+"/-/signup", url.Values{"name": {fmt.Sprintf("flood%d-%d", i, k)}, "email": {email},
					"password": {fmt.Sprintf("a long flood password %d %d zebra", i, k)}}, "")
				t.add(a)
				if a.code == 429 || a.code == 503 {
					time.Sleep(time.Second)
				}
			}
		}()
	}
	wg.Wait()
	signups, rows1, err := h.outbox()
	if err != nil {
		return err
	}

	// Resets: each address asks for alice by name, by address, and for
	// names and addresses nobody has, round after round.
	kinds := []struct {
		label string
		who   func(i, k int) string
	}{
		{"alice by name", func(i, k int) string { return "alice" }},
		{"alice by address", func(i, k int) string { return "alice@example.test" }},
		{"unknown names", func(i, k int) string { return fmt.Sprintf("nobody%d-%d", i, k) }},
		{"unknown addresses", func(i, k int) string { return fmt.Sprintf("nobody%d-%d@example.test", i, k) }},
	}
	resets := make([]*tally, len(kinds))
	shapes := make([]map[string]int, len(kinds)) // status and body, with the name typed taken out
	for j := range kinds {
		resets[j], shapes[j] = newTally(), map[string]int{}
	}
	var mu sync.Mutex
	end = time.Now().Add(10 * time.Second)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := webClient(fmt.Sprintf("127.11.%d.%d", i/200, i%200+1))
			for k := 0; time.Now().Before(end); k++ {
				j := (i + k) % len(kinds)
				who := kinds[j].who(i, k)
				a := postForm(c, h.srv.url+"/-/reset", url.Values{"who": {who}}, "")
				resets[j].add(a)
				if a.code == 200 {
					mu.Lock()
					shapes[j][fmt.Sprintf("%d %x", a.code, bytes.ReplaceAll(a.body, []byte(who), nil))]++
					mu.Unlock()
				}
				if a.code == 429 {
					time.Sleep(500 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
	peak, _ := sm.done()
	time.Sleep(2 * time.Second) // resets are queued in the background (at most 30 s each)
	after, rows2, err := h.outbox()
	if err != nil {
		return err
	}
	accounts, err := h.srv.cli("", "admin", "user", "list")
	if err != nil {
		return fmt.Errorf("user list: %v\n%s", err, accounts)
	}

	fmt.Printf("## Sign-up and password-reset floods from %d addresses\n\n", n)
	fmt.Println("`accounts.signup = \"open\"`; mail goes to an SMTP port nobody listens on, so every message stays in the outbox, where it is counted. Default limits: 10 mails of one kind to one address per hour, 3 reset links per account per hour, 5 reset requests per address per 15 minutes, the sign-in rate (10 a minute per address) on both forms.")
	fmt.Println()
	fmt.Println(tallyHeader)
	fmt.Println(victim.row(fmt.Sprintf("%d addresses signing up, all with victim@example.test, %s", n/2, dur)))
	fmt.Println(fresh.row(fmt.Sprintf("%d addresses signing up, a new address each time, %s", n/2, dur)))
	for j, k := range kinds {
		fmt.Println(resets[j].row("reset requests for " + k.label + ", 10 s"))
	}
	fmt.Println()
	created := 0
	for _, line := range strings.Split(accounts, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "flood") {
			created++
		}
	}
	fmt.Printf("Accounts created: %d. Outbox rows: %d before, %d after the sign-ups, %d after the resets: verify-email to victim@example.test %d, verify-email in all %d; reset links (password-reset-link) to alice %d, in all %d.\n\n",
		created, rows0, rows1, rows2, signups["verify-email"]["victim@example.test"], sum(signups["verify-email"]),
		after["password-reset-link"]["alice@example.test"], sum(after["password-reset-link"]))
	var distinct []string
	for j, k := range kinds {
		distinct = append(distinct, fmt.Sprintf("%s %d", k.label, len(shapes[j])))
	}
	all := map[string]bool{}
	for _, s := range shapes {
		for k := range s {
			all[k] = true
		}
	}
	fmt.Printf("Reset answers taken (200): distinct pages once the name typed is taken out: %s; %d across all four.\n\n", strings.Join(distinct, ", "), len(all))
	fmt.Printf("Server RSS %s idle, %s peak.\n\n", mb(idle), mb(peak))
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
	return nil
}
