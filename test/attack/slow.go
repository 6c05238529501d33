package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// slowStats are what one attacker process saw.
type slowStats struct {
	Dials    int64 // connection attempts
	DialErrs int64 // attempts the kernel refused or that timed out
	Refused  int64 // answered "503 too many connections" at accept
	Cut      int64 // accepted, then closed by the server (timeouts, limits)
	MaxOpen  int64 // most connections held open at once
	HeldMS   int64 // total time accepted connections were held, in ms
}

// slowMain is the attacker process: conns connections from the source
// addresses, each sending its request a byte at a time, reconnecting when
// the server closes it, until the duration is over.
func slowMain(args []string) error {
	fs := flag.NewFlagSet("slow", flag.ContinueOnError)
	target := fs.String("target", "", "host:port")
	srcs := fs.String("src", "127.0.0.2", "comma-separated source addresses")
	conns := fs.Int("conns", 1000, "connections")
	mode := fs.String("mode", "header", "header (trickled headers), body (trickled login body), idle (nothing sent)")
	dur := fs.Duration("duration", 30*time.Second, "how long to attack")
	every := fs.Duration("every", 2*time.Second, "interval between trickled bytes")
	redial := fs.Duration("redial", 5*time.Second, "wait before opening a closed connection again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addrs := strings.Split(*srcs, ",")
	end := time.Now().Add(*dur)
	var st slowStats
	var open atomic.Int64
	var wg sync.WaitGroup
	for i := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the first dials over three seconds: the listen
			// backlog is not what is being tested.
			time.Sleep(rand.N(3 * time.Second))
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addrs[i%len(addrs)])}, Timeout: 5 * time.Second}
			for time.Now().Before(end) {
				atomic.AddInt64(&st.Dials, 1)
				c, err := d.Dial("tcp", *target)
				if err != nil {
					atomic.AddInt64(&st.DialErrs, 1)
					time.Sleep(time.Second)
					continue
				}
				n := open.Add(1)
				for {
					m := atomic.LoadInt64(&st.MaxOpen)
					if n <= m || atomic.CompareAndSwapInt64(&st.MaxOpen, m, n) {
						break
					}
				}
				refused, held := trickle(c, *mode, *every, end)
				open.Add(-1)
				c.Close()
				if refused {
					atomic.AddInt64(&st.Refused, 1)
				} else {
					atomic.AddInt64(&st.HeldMS, held.Milliseconds())
					if time.Now().Before(end) {
						atomic.AddInt64(&st.Cut, 1)
					}
				}
				// Open it again a little later, as slowloris tools do
				// (slowloris.py every 15 s).
				time.Sleep(*redial)
			}
		}()
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(st)
}

// trickle sends the mode's request slowly on c until the server closes it
// or end comes. It reports whether the server refused the connection at
// accept, and how long it held it otherwise.
func trickle(c net.Conn, mode string, every time.Duration, end time.Time) (refused bool, held time.Duration) {
	start := time.Now()
	closed := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 256)
		n, _ := c.Read(buf) // the refusal, a response, or EOF
		closed <- buf[:n]
		for { // drain until the server closes
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		close(closed)
	}()
	var first string
	switch mode {
	case "header":
		first = "GET /healthz HTTP/1.1\r\nHost: trove\r\nX-Slow: "
	case "body":
		first = "PUT /npm/-/user/org.couchdb.user:slow HTTP/1.1\r\nHost: trove\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"
	}
	if first != "" {
		c.Write([]byte(first))
	}
	t := time.NewTicker(every)
	defer t.Stop()
	timeout := time.NewTimer(time.Until(end))
	defer timeout.Stop()
	for {
		select {
		case b := <-closed:
			if bytes.Contains(b, []byte("too many connections")) {
				return true, 0
			}
			for range closed {
			}
			return false, time.Since(start)
		case <-timeout.C:
			return false, time.Since(start)
		case <-t.C:
			if mode != "idle" {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write([]byte("x"))
			}
		}
	}
}

// slowScenario: 20,000 slow connections (trickled headers, trickled
// bodies, idle) from one address and from 160 more, while the measuring
// client reads.
func slowScenario(h *harness) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	per := h.slowConns / 5
	type proc struct {
		label, mode string
		srcs        []string
	}
	many := func(block int) []string {
		var s []string
		for i := 1; i <= 40; i++ {
			s = append(s, fmt.Sprintf("127.1.%d.%d", block, i))
		}
		return s
	}
	procs := []proc{
		{"one address (127.0.0.2), trickled headers", "header", []string{"127.0.0.2"}},
		{"40 addresses, trickled headers", "header", many(1)},
		{"40 addresses, trickled login bodies", "body", many(2)},
		{"40 addresses, idle", "idle", many(3)},
		{"40 addresses, trickled login bodies", "body", many(4)},
	}
	idleRSS := h.srv.rss()
	cutBefore := h.srv.metric("trove_refused_total", `reason="slow_body"`)
	sm := h.srv.sample()
	outs := make([]bytes.Buffer, len(procs))
	cmds := make([]*exec.Cmd, len(procs))
	for i, p := range procs {
		cmds[i] = exec.Command(self, "slow", "-target", h.srv.addr, "-src", strings.Join(p.srcs, ","),
			"-conns", fmt.Sprint(per), "-mode", p.mode, "-duration", h.hold.String())
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], os.Stderr
		if err := cmds[i].Start(); err != nil {
			return err
		}
	}
	// Measure once the connections are up, until the attackers stop.
	time.Sleep(5 * time.Second)
	stop := make(chan struct{})
	probes := h.readProbes()
	wg := runProbes(stop, 50*time.Millisecond, probes...)
	openMid := h.srv.metric("trove_connections_open", "")
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			return fmt.Errorf("attacker: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	peakRSS, peakFDs := sm.done()
	refusedTotal := h.srv.metric("trove_connections_refused_total", "")
	cut := h.srv.metric("trove_refused_total", `reason="slow_body"`) - cutBefore

	fmt.Printf("## Slow connections: %d from 161 addresses for %s\n\n", per*len(procs), h.hold)
	fmt.Println("| attacker process | connections | attempts | refused at accept (503) | accepted, then closed by the server | most open at once | mean time held |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for i, p := range procs {
		var st slowStats
		if err := json.Unmarshal(outs[i].Bytes(), &st); err != nil {
			return fmt.Errorf("attacker output %q: %v", outs[i].String(), err)
		}
		mean := time.Duration(0)
		if n := st.Dials - st.Refused - st.DialErrs; n > 0 {
			mean = time.Duration(st.HeldMS/n) * time.Millisecond
		}
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %s |\n", p.label, per, st.Dials, st.Refused, st.Cut, st.MaxOpen, mean.Round(100*time.Millisecond))
	}
	fmt.Println()
	fmt.Printf("Server: %.0f connections open (5 s in), %.0f refused at accept in all, %.0f slow bodies cut; "+
		"RSS %s idle, %s peak; at most %d open files.\n\n", openMid, refusedTotal, cut, mb(idleRSS), mb(peakRSS), peakFDs)
	fmt.Println(probeHeader)
	for _, p := range probes {
		fmt.Println(p.row())
	}
	fmt.Println()
	return nil
}
