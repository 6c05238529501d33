// Package pgtest runs a real PostgreSQL server for tests: one per test
// binary, started on first use from Debian's binaries with initdb in a
// temporary directory, listening on 127.0.0.1 on a free port (and on a
// socket in that directory), and stopped, its directory removed, when the
// test binary exits. Each test gets a fresh database of its own.
//
// The binaries are looked for in $TROVE_PG_BIN, then on PATH, then in
// /usr/lib/postgresql/<version>/bin (the newest). Without them a test
// fails, saying how to install them; it never skips. initdb refuses to
// run as root, so as root the server runs as the postgres system user
// that Debian's postgresql package creates.
//
// The server is for tests only: fsync is off, and its superuser's password
// is random, in the connection URLs the package hands out.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/trove-dev/trove/internal/meta"
)

// Install tells how to get the server's binaries.
const Install = "install Debian's PostgreSQL server (apt-get update && apt-get install postgresql), or set TROVE_PG_BIN to a directory holding initdb and postgres"

// startTimeout bounds how long the server may take to accept connections.
const startTimeout = 60 * time.Second

var (
	once    sync.Once
	srv     *server
	srvErr  error
	counter atomic.Int64
)

// A server is the running PostgreSQL server.
type server struct {
	dir   string      // its temporary directory; removed when it stops
	url   url.URL     // of its postgres database, as the superuser
	admin *sql.DB     // to create and drop databases
	ready chan clone  // copies of the template, made ahead
	drop  chan string // databases of finished tests, to drop
}

// NewDatabase creates an empty database on the test binary's server,
// starting the server on first use, and returns its connection URL
// (with the password). The database is dropped when t ends.
//
// Databases default to an ICU collation (en-US) that orders text unlike
// byte order, so that code relying on its columns' own collation is
// tested as an operator's database would run it.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return create(t, "template0")
}

// Open returns a fresh database on the test binary's server, with
// Trove's schema, closed and dropped when t ends. It is a copy of a
// database migrated once per test binary (NewDatabase and
// meta.OpenPostgres migrate an empty one).
func Open(t testing.TB) *meta.DB {
	t.Helper()
	db, err := meta.OpenPostgres(context.Background(), copied(t), meta.PostgresOptions{MaxOpenConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// templateDB is the database that Open copies, migrated at start.
const templateDB = "trove_template"

// create creates a database from the template and drops it when t ends.
func create(t testing.TB, template string) string {
	t.Helper()
	up(t)
	name := fmt.Sprintf("trove_test_%d", counter.Add(1))
	if _, err := srv.admin.ExecContext(context.Background(), createSQL(name, template)); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() { srv.drop <- name })
	return srv.dbURL(name)
}

// copied returns a copy of the migrated template, made ahead of time by
// the server's background copier, and drops it when t ends.
func copied(t testing.TB) string {
	t.Helper()
	up(t)
	c := <-srv.ready
	if c.err != nil {
		t.Fatalf("creating test database: %v", c.err)
	}
	t.Cleanup(func() { srv.drop <- c.name })
	return srv.dbURL(c.name)
}

// up starts the server on first use.
func up(t testing.TB) {
	t.Helper()
	once.Do(func() { srv, srvErr = start() })
	if srvErr != nil {
		t.Fatalf("starting PostgreSQL for tests: %v", srvErr)
	}
}

// A clone is a database copied from the template, or why it could not be.
type clone struct {
	name string
	err  error
}

// background copies the template ahead of the tests that will ask for
// copies, and drops the databases of finished tests, so that tests wait
// for neither (both take a few hundred milliseconds).
func (s *server) background() {
	ctx := context.Background()
	for {
		name := fmt.Sprintf("trove_test_%d", counter.Add(1))
		_, err := s.admin.ExecContext(ctx, createSQL(name, templateDB))
		for sent := false; !sent; {
			select {
			case s.ready <- clone{name, err}:
				sent = true
			case old := <-s.drop:
				if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+old+` WITH (FORCE)`); err != nil {
					fmt.Fprintf(os.Stderr, "pgtest: dropping test database %s: %v\n", old, err)
				}
			}
		}
	}
}

func createSQL(name, template string) string {
	if template == "template0" {
		return `CREATE DATABASE ` + name + ` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`
	}
	return `CREATE DATABASE ` + name + ` TEMPLATE ` + template
}

func (s *server) dbURL(name string) string {
	u := s.url
	u.Path = "/" + name
	return u.String()
}

// migrateTemplate creates and migrates the database Open copies.
func (s *server) migrateTemplate() error {
	ctx := context.Background()
	if _, err := s.admin.ExecContext(ctx, createSQL(templateDB, "template0")); err != nil {
		return fmt.Errorf("creating the template database: %w", err)
	}
	db, err := meta.OpenPostgres(ctx, s.dbURL(templateDB), meta.PostgresOptions{MaxOpenConns: 1})
	if err != nil {
		return err
	}
	return db.Close() // a template must have no connections when copied
}

// start initializes and starts the server.
func start() (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "trove-pgtest-")
	if err != nil {
		return nil, err
	}
	s, err := initAndRun(bin, dir, cred)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.migrateTemplate(); err != nil {
		return nil, err
	}
	s.ready, s.drop = make(chan clone), make(chan string, 1024)
	go s.background()
	return s, nil
}

func initAndRun(bin, dir string, cred *syscall.Credential) (*server, error) {
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o700); err != nil {
		return nil, err
	}
	password := randomHex()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, filepath.Join(dir, "sock"), filepath.Join(dir, "pw")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "trove",
		"--pwfile", filepath.Join(dir, "pw"), "--auth-host=scram-sha-256", "--auth-local=trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	var lastErr error
	for range 3 { // a free port may be taken before the server binds it
		s, err := run(bin, dir, cred, password)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// supervisor runs the server and, when the test binary exits (the
// kernel's parent-death signal), stops it and removes its directory.
const supervisor = `dir=$1; postgres=$2; port=$3
"$postgres" -D "$dir/data" -k "$dir/sock" -h 127.0.0.1 -p "$port" \
	-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
	-c max_connections=400 -c shared_buffers=32MB -c log_min_messages=warning >"$dir/log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid; rm -rf "$dir"; exit 0' TERM INT HUP
wait $pid
`

// run starts the server on a free port and waits until it answers.
func run(bin, dir string, cred *syscall.Credential, password string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that started the
		// process: keep that thread for as long as the process lives.
		runtime.LockOSThread()
		cmd := exec.Command("/bin/sh", "-c", supervisor, "sh", dir, filepath.Join(bin, "postgres"), strconv.Itoa(port))
		cmd.SysProcAttr = procAttr(cred)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
		select {} // keep the thread locked: the process is gone, but stay put
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword("trove", password), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			admin.Close()
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, fmt.Errorf("postgres exited (%v):\n%s", err, log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := admin.PingContext(ctx)
		cancel()
		if err == nil {
			return &server{dir: dir, url: u, admin: admin}, nil
		}
		if time.Now().After(deadline) {
			admin.Close()
			return nil, fmt.Errorf("postgres did not answer within %s: %w", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// binDir finds a directory holding initdb and postgres.
func binDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("TROVE_PG_BIN"); d != "" {
		if has(d) {
			return d, nil
		}
		return "", fmt.Errorf("TROVE_PG_BIN=%s holds no initdb and postgres: %s", d, Install)
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's initdb and postgres were not found on PATH nor in /usr/lib/postgresql/*/bin: " + Install)
}

// version returns the major version in a /usr/lib/postgresql/<v>/bin path.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// credential returns who runs the server: nil for the current user, the
// postgres system user when running as root (initdb refuses root).
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the test server runs as the postgres system user, which does not exist: %s", Install)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: false, Groups: []uint32{}}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
