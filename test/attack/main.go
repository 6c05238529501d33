// Command attack runs Trove's attack scenarios against a real trove serve
// on 127.0.0.1 and prints their figures as Markdown: the measurements
// behind docs/attack.md. Every scenario is bounded in time and the whole
// run takes about four minutes; nothing leaves the loopback interface.
//
//	go build -o /tmp/trove ./cmd/trove && go run ./test/attack -trove /tmp/trove
//
// or scripts/attack.sh, which does both. Attackers connect from other
// loopback addresses (127.0.0.2, 127.1.x.y, …) than the measuring client
// (127.0.0.1), so that the server's per-address limits meet many
// clients. The 20,000 slow connections are spread over child processes
// of this program ("attack slow …"), each within its own file limit.
//
// Flags:
//
//	-trove PATH       the trove binary (required)
//	-only NAMES       run only these scenarios (comma-separated: slow,
//	                  uploads, signins, bruteforce, rates, huge, bytes,
//	                  upstream, websignin, webfactor, webmail,
//	                  webbodies, webpages, scanning)
//	-slow-conns N     slow connections in all (default 20000)
//	-hold DURATION    how long the slow connections are kept up (default 30s)
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "slow" {
		if err := slowMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "attack slow:", err)
			os.Exit(1)
		}
		return
	}
	bin := flag.String("trove", "", "the trove binary")
	only := flag.String("only", "", "comma-separated scenarios to run (default all)")
	slowConns := flag.Int("slow-conns", 20000, "slow connections in all")
	hold := flag.Duration("hold", 30*time.Second, "how long the slow connections are kept up")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "attack: -trove PATH is required (go build -o /tmp/trove ./cmd/trove)")
		os.Exit(2)
	}
	if err := run(*bin, *only, *slowConns, *hold); err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

// scenario is one attack with its figures.
type scenario struct {
	name string
	run  func(h *harness) error
	// setup, if not nil, runs before the server starts and returns its
	// extra environment and what to do once the scenario ends.
	setup func() ([]string, func(), error)
}

func run(bin, only string, slowConns int, hold time.Duration) error {
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	fmt.Printf("# Attack run %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Printf("Machine: %d CPUs, %s, %s. Each scenario runs against a fresh trove serve with its default configuration "+
		"except `accounts.publish_auth = \"password\"` (the harness's tokens are minted without a second factor) "+
		"(data in a temporary directory, two accounts, one small published package).\n\n",
		runtime.NumCPU(), memTotal(), runtime.Version())
	for _, sc := range []scenario{
		{name: "slow", run: slowScenario},
		{name: "uploads", run: uploadsScenario},
		{name: "signins", run: signinsScenario},
		{name: "bruteforce", run: bruteForceScenario},
		{name: "rates", run: ratesScenario},
		{name: "huge", run: hugeScenario},
		{name: "bytes", run: bytesScenario},
		{name: "upstream", run: upstreamScenario, setup: upstreamSetup},
		{name: "websignin", run: webSigninScenario},
		{name: "webfactor", run: webFactorScenario},
		{name: "webmail", run: webMailScenario, setup: webMailSetup},
		{name: "webbodies", run: webBodiesScenario},
		{name: "webpages", run: webPagesScenario},
		{name: "scanning", run: scanningScenario},
	} {
		if len(want) > 0 && !want[sc.name] {
			continue
		}
		start := time.Now()
		var env []string
		if sc.setup != nil {
			e, cleanup, err := sc.setup()
			if err != nil {
				return err
			}
			defer cleanup()
			env = e
		}
		h, err := newHarness(bin, env...)
		if err != nil {
			return err
		}
		h.slowConns, h.hold = slowConns, hold
		err = sc.run(h)
		alive, tail := h.srv.alive(), h.srv.logTail()
		h.close()
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.name, err)
		}
		if !alive {
			return fmt.Errorf("scenario %s: trove serve died:\n%s", sc.name, tail)
		}
		fmt.Fprintf(os.Stderr, "attack: %s done in %s\n", sc.name, time.Since(start).Round(time.Second))
	}
	return nil
}
