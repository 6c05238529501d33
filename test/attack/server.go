package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A server is a running trove serve.
type server struct {
	bin, data, url, addr string
	cmd                  *exec.Cmd
	log                  *os.File
	done                 chan struct{}
}

// startServer runs trove serve on a free loopback port with a fresh data
// directory and the extra environment.
func startServer(bin string, env ...string) (*server, error) {
	data, err := os.MkdirTemp("", "trove-attack-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	log, err := os.Create(filepath.Join(data, "serve.log"))
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, data: data, url: "http://" + addr, addr: addr, log: log, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--data", data, "--listen", addr)
	// Publishing with the harness's tokens, minted without a second
	// factor, needs the registry's publish policy at "password"
	// (docs/publishing-mfa.md); everything else keeps its default.
	s.cmd.Env = append(os.Environ(), append([]string{"TROVE_LOG_REQUESTS=false", "TROVE_ACCOUNTS_PUBLISH_AUTH=password"}, env...)...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if !s.alive() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("trove serve did not become ready:\n%s", s.logTail())
}

func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *server) stop() {
	if s.alive() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.log.Close()
	os.RemoveAll(s.data)
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// logText returns the server's log so far.
func (s *server) logText() string {
	b, _ := os.ReadFile(s.log.Name())
	return string(b)
}

// cli runs a trove subcommand on the server's data directory and returns
// its standard output followed by its standard error.
func (s *server) cli(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append(args, "--data", s.data)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String() + errOut.String(), err
}

// procStatus reads a field (in kB) of /proc/PID/status.
func (s *server) procStatus(field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n << 10
		}
	}
	return 0
}

// rss returns the server's resident memory in bytes.
func (s *server) rss() int64 { return s.procStatus("VmRSS") }

// cpu returns the CPU time the server has used so far, user and system
// (utime and stime of /proc/PID/stat, in clock ticks of 1/100 s).
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which may hold spaces: state is
	// the first, utime the 12th and stime the 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// fds returns how many files the server has open.
func (s *server) fds() int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	return len(es)
}

// metric returns the sum of a metric's samples at /metrics (all labels),
// filtered by a label substring such as `reason="slow_body"`.
func (s *server) metric(name, label string) float64 {
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != ' ' && line[len(name)] != '{') {
			continue
		}
		if label != "" && !strings.Contains(line, label) {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

// A sampler records the peak of the server's RSS and open files.
type sampler struct {
	mu      sync.Mutex
	rss     int64
	fds     int
	stop    chan struct{}
	stopped chan struct{}
}

func (s *server) sample() *sampler {
	sm := &sampler{stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(sm.stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			rss, fds := s.rss(), s.fds()
			sm.mu.Lock()
			sm.rss, sm.fds = max(sm.rss, rss), max(sm.fds, fds)
			sm.mu.Unlock()
			select {
			case <-sm.stop:
				return
			case <-t.C:
			}
		}
	}()
	return sm
}

// done stops the sampler and returns the peaks.
func (sm *sampler) done() (rss int64, fds int) {
	close(sm.stop)
	<-sm.stopped
	return sm.rss, sm.fds
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "memory unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return "memory unknown"
	}
	kb, _ := strconv.ParseInt(f[1], 10, 64)
	return fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
}

// clientFrom returns an HTTP client whose connections come from src.
func clientFrom(src string, keepAlive bool) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: !keepAlive,
			MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
}

// do sends a request and returns its status (0 for a transport error),
// its Retry-After header and its body.
func do(c *http.Client, method, url string, body []byte, hdr ...string) (int, string, []byte) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, "", nil
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return -1, "", nil
		}
		return 0, "", []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), b
}
